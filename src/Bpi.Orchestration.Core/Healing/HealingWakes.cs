namespace Bpi.Orchestration.Healing;

/// <summary>What <see cref="HealingWakes"/> wakes: a deployment's healer.</summary>
internal interface IWakeable
{
    /// <summary>The wake asked for is due.</summary>
    void OnDue();
}

/// <summary>
/// The timed wakes of every healer of one orchestrator on one timer: a plan run's after-run look, a crash-loop
/// back-off's next restart. A healer asks for a wake at a time (an earlier one it already has stands); stopping it
/// withdraws the wake, so nothing keeps a destroyed deployment reachable until its time comes.
/// </summary>
/// <remarks>
/// One timer for all of them rather than one per healer: most wakes are withdrawn before they are due (the deployment is
/// updated or destroyed first), and creating and disposing a timer per plan run cost more than the run's own bookkeeping.
/// The timer is armed for the earliest wake; when it fires, every due wake runs and it is armed for the next.
/// </remarks>
internal sealed class HealingWakes(TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<IWakeable, DateTimeOffset> _due = [];
    private ITimer? _timer;
    private DateTimeOffset? _armedFor;

    /// <summary>How many wakes wait: for tests.</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _due.Count;
            }
        }
    }

    /// <summary>
    /// Wakes <paramref name="healer"/> at <paramref name="at"/>, unless it already has an earlier wake. Returns
    /// <see langword="false"/> when <paramref name="at"/> has already come: nothing is scheduled, and the caller acts now.
    /// </summary>
    /// <remarks>
    /// The clock is read here, not taken from the caller's decision: it may have moved in between (a manual clock advanced
    /// by a test while a healing pass was on its way here), and a wake armed "so long from then" would come that much late.
    /// A wake already due is never handed to the timer: a timer with no time left may fire on the arming thread (a manual
    /// clock's does), which would call a healer back while this lock and the caller's are held.
    /// </remarks>
    public bool Schedule(IWakeable healer, DateTimeOffset at)
    {
        lock (_gate)
        {
            return ScheduleUnderLock(healer, at, time.GetUtcNow());
        }
    }

    /// <summary>
    /// Wakes <paramref name="healer"/> <paramref name="delay"/> (positive) from now, unless it already has an earlier
    /// wake: the clock is read once, here, rather than by the caller and again here.
    /// </summary>
    public void ScheduleAfter(IWakeable healer, TimeSpan delay)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            ScheduleUnderLock(healer, now + delay, now);
        }
    }

    private bool ScheduleUnderLock(IWakeable healer, DateTimeOffset at, DateTimeOffset now)
    {
        if (at <= now)
        {
            return false;
        }

        if (_due.TryGetValue(healer, out var set) && set <= at)
        {
            return true;
        }

        _due[healer] = at;
        if (_armedFor is not { } armed || at < armed)
        {
            Arm(at, now);
        }

        return true;
    }

    /// <summary>Withdraws <paramref name="healer"/>'s wake, if it has one.</summary>
    public void Cancel(IWakeable healer)
    {
        lock (_gate)
        {
            _due.Remove(healer);
        }
    }

    /// <summary>Withdraws every wake and drops the timer (the orchestrator stops; a later start schedules afresh).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _due.Clear();
            _armedFor = null;
            _timer?.Dispose();
            _timer = null;
        }
    }

    /// <summary>Arms the timer for <paramref name="at"/>, which is later than <paramref name="now"/> (under the lock).</summary>
    private void Arm(DateTimeOffset at, DateTimeOffset now)
    {
        _armedFor = at;
        var dueTime = at - now;
        if (_timer is null)
        {
            _timer = time.CreateTimer(static s => ((HealingWakes)s!).OnTimer(), this, dueTime, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(dueTime, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTimer()
    {
        List<IWakeable>? woken = null;
        lock (_gate)
        {
            _armedFor = null;
            var now = time.GetUtcNow();
            DateTimeOffset? next = null;
            foreach (var (healer, at) in _due)
            {
                if (at <= now)
                {
                    (woken ??= []).Add(healer);
                }
                else if (next is null || at < next)
                {
                    next = at;
                }
            }

            if (woken is not null)
            {
                foreach (var healer in woken)
                {
                    _due.Remove(healer);
                }
            }

            if (next is { } at2)
            {
                Arm(at2, now);
            }
        }

        if (woken is not null)
        {
            foreach (var healer in woken)
            {
                healer.OnDue();
            }
        }
    }
}
