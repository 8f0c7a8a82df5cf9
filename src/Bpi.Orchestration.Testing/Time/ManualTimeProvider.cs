namespace Bpi.Orchestration.Testing;

/// <summary>
/// A <see cref="TimeProvider"/> whose clock moves only when a test calls <see cref="Advance"/>: every delay, timeout
/// and timer in the SDK goes through it, so tests never sleep. Timers due within an advance fire in time order, each
/// with the clock set to its due time. Thread-safe.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _timerWaiters = [];
    private DateTimeOffset _now;
    private long _ticks;

    /// <summary>Creates a clock that starts at <paramref name="start"/> (by default 2026-01-01T00:00:00Z).</summary>
    /// <param name="start">The initial time.</param>
    public ManualTimeProvider(DateTimeOffset? start = null)
    {
        _now = start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>How many timers are scheduled (waiting to fire) now: pending delays, timeouts and periodic timers.</summary>
    public int ScheduledTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count(t => t.DueAt is not null);
            }
        }
    }

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    /// <inheritdoc />
    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _ticks;
        }
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way, in order.</summary>
    /// <param name="delta">How far to move; must not be negative.</param>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        DateTimeOffset target;
        lock (_gate)
        {
            target = _now + delta;
        }

        while (true)
        {
            ManualTimer? due;
            lock (_gate)
            {
                due = _timers.Where(t => t.DueAt is { } at && at <= target).MinBy(t => t.DueAt);
                if (due is null)
                {
                    SetNow(target);
                    return;
                }

                SetNow(due.DueAt!.Value);
                due.Advance();
            }

            due.Fire();
        }
    }

    /// <summary>
    /// Waits (without advancing the clock) until at least <paramref name="count"/> one-shot timers are scheduled (delays,
    /// timeouts, back-offs), for example until a rollout sits in its pause step.
    /// </summary>
    /// <remarks>
    /// Periodic timers do not count: they are always scheduled (self-healing's resync and probe periods, an audit
    /// checkpoint, a security monitor), so counting them would say "something waits on the clock" while the rollout being
    /// driven is still busy, and a drive loop would outrun it. <see cref="ScheduledTimers"/> counts every timer.
    /// </remarks>
    /// <param name="count">How many one-shot timers must be scheduled.</param>
    /// <param name="cancellationToken">Cancels the wait; pass a token with a timeout to bound it.</param>
    /// <returns>A task that completes when the condition holds.</returns>
    public Task WaitForTimersAsync(int count = 1, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (Waiting() >= count)
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _timerWaiters.Add((count, signal));
            return signal.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Drives the clock until <paramref name="operation"/> completes: whenever at least <paramref name="minTimers"/>
    /// timers are scheduled (something waits on the clock) and the operation is still running, advances by
    /// <paramref name="step"/>. The clock never moves while nothing waits on it, so a test needs no sleep.
    /// </summary>
    /// <typeparam name="T">The operation's result.</typeparam>
    /// <param name="operation">What to wait for, for example <c>vm.WaitUntilSettledAsync(id)</c>.</param>
    /// <param name="step">How far each advance moves the clock; one second when <see langword="null"/>.</param>
    /// <param name="minTimers">How many timers must be scheduled before an advance, so background loops re-arm between advances.</param>
    /// <param name="cancellationToken">Cancels the drive; pass a token with a real-time timeout to bound it.</param>
    /// <returns>The operation's result.</returns>
    public async Task<T> RunUntilAsync<T>(Task<T> operation, TimeSpan? step = null, int minTimers = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentOutOfRangeException.ThrowIfLessThan(minTimers, 1);
        while (!operation.IsCompleted)
        {
            await Task.WhenAny(operation, WaitForTimersAsync(minTimers, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (!operation.IsCompleted)
            {
                Advance(step ?? TimeSpan.FromSeconds(1));
            }
        }

        return await operation.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new ManualTimer(this, callback, state);
        lock (_gate)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    private void SetNow(DateTimeOffset value)
    {
        if (value > _now)
        {
            _ticks += (value - _now).Ticks;
            _now = value;
        }
    }

    private void Schedule(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_gate)
        {
            timer.Period = period;
            timer.DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : _now + (dueTime < TimeSpan.Zero ? TimeSpan.Zero : dueTime);
            NotifyWaiters();
        }

        if (dueTime == TimeSpan.Zero)
        {
            // Due now: fire without waiting for an advance, as a real timer would.
            lock (_gate)
            {
                if (timer.DueAt is null)
                {
                    return;
                }

                timer.Advance();
            }

            timer.Fire();
        }
    }

    private void Remove(ManualTimer timer)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
        }
    }

    /// <summary>The one-shot timers scheduled now (what <see cref="WaitForTimersAsync"/> counts); called under the lock.</summary>
    private int Waiting() => _timers.Count(t => t.DueAt is not null && !t.IsPeriodic);

    private void NotifyWaiters()
    {
        var scheduled = Waiting();
        for (var i = _timerWaiters.Count - 1; i >= 0; i--)
        {
            if (scheduled >= _timerWaiters[i].Count)
            {
                _timerWaiters[i].Signal.TrySetResult();
                _timerWaiters.RemoveAt(i);
            }
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? DueAt { get; set; }

        public TimeSpan Period { get; set; }

        public bool IsPeriodic => Period != Timeout.InfiniteTimeSpan && Period > TimeSpan.Zero;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Schedule(this, dueTime, period);
            return true;
        }

        /// <summary>Called under the owner's lock when the timer fires: reschedules a periodic timer.</summary>
        public void Advance()
            => DueAt = Period > TimeSpan.Zero && Period != Timeout.InfiniteTimeSpan ? DueAt + Period : null;

        public void Fire() => callback(state);

        public void Dispose() => owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
