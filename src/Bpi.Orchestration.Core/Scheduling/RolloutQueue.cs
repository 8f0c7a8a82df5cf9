using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration;

/// <summary>
/// The deployment queue: rollouts wait in FIFO order and at most <c>concurrency</c> run at once. A queued rollout
/// that is aborted or destroyed is skipped without taking a slot.
/// </summary>
/// <remarks>
/// Each queued rollout is handed to the thread pool, which starts the head of the queue when a slot is free. Someone
/// who waits for a queued rollout (<see cref="TryRunInline"/>) may start it on their own thread instead when it is
/// the head and a slot is free, the way <c>Task.Wait</c> inlines a task that has not started: the rollout still
/// runs in the background (its first asynchronous wait returns the thread), but a rollout whose runtime answers at
/// once completes without two thread switches. Either way a rollout runs without the ambient state of whoever
/// started it (actor, activity): in the execution context the queue captured on start.
/// </remarks>
internal sealed class RolloutQueue(int concurrency, Func<RolloutWork, Task> execute, OrchestrationTelemetry telemetry)
{
    private readonly Lock _gate = new();
    private readonly Queue<RolloutWork> _pending = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ExecutionContext? _clean;
    private ContextCallback? _runClaimed;
    private int _running;
    private int _scheduled;
    private int _peak;
    private bool _started;
    private bool _stopped;

    /// <summary>How many rollouts run right now.</summary>
    public int Running
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    /// <summary>The highest number of rollouts that ever ran at once.</summary>
    public int PeakRunning
    {
        get
        {
            lock (_gate)
            {
                return _peak;
            }
        }
    }

    /// <summary>Captures the execution context rollouts run in (one with no ambient state) and starts dispatching.</summary>
    public async Task StartAsync()
    {
        Task<ExecutionContext?> capture;
        using (ExecutionContext.SuppressFlow())
        {
            capture = Task.Run(static () => ExecutionContext.Capture());
        }

        _clean = await capture.ConfigureAwait(false);
        lock (_gate)
        {
            _started = true;
        }

        Pump();
    }

    /// <summary>
    /// Queues a rollout. When nothing is queued ahead of it and a slot is free, it starts at once on the calling thread
    /// and runs until its first asynchronous wait before this returns; otherwise it waits for its turn.
    /// </summary>
    public void Enqueue(RolloutWork work)
    {
        bool now;
        lock (_gate)
        {
            ThrowIfStopped();
            now = TryClaimNow(work);
            if (!now)
            {
                _pending.Enqueue(work);
            }
        }

        if (now)
        {
            RunInline(work);
            return;
        }

        telemetry.QueueLength.Add(1);
        Pump();
    }

    /// <summary>
    /// Starts a rollout on the calling thread if nothing is queued ahead of it and a slot is free (it runs until its
    /// first asynchronous wait before this returns); otherwise leaves it to the caller to queue.
    /// </summary>
    /// <returns>Whether the rollout was started.</returns>
    public bool TryStartNow(RolloutWork work)
    {
        lock (_gate)
        {
            ThrowIfStopped();
            if (!TryClaimNow(work))
            {
                return false;
            }
        }

        RunInline(work);
        return true;
    }

    /// <summary>Claims a slot for <paramref name="work"/> if one is free and nothing waits ahead of it; called under the lock.</summary>
    private bool TryClaimNow(RolloutWork work)
    {
        if (!(_started && _running < concurrency && _pending.Count == 0 && work.TryStart()))
        {
            return false;
        }

        Claimed();
        return true;
    }

    private void ThrowIfStopped()
    {
        if (_stopped)
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotRunning, "The orchestrator is stopping and accepts no new rollouts.");
        }
    }

    /// <summary>
    /// Starts <paramref name="work"/> on the calling thread if it is the head of the queue and a slot is free; it then
    /// runs until its first asynchronous wait before this returns.
    /// </summary>
    /// <returns>Whether the rollout was started here.</returns>
    public bool TryRunInline(RolloutWork work)
    {
        lock (_gate)
        {
            if (!_started || _stopped || _running >= concurrency)
            {
                return false;
            }

            // Rollouts cancelled while queued hold no place in the line.
            while (_pending.TryPeek(out var head) && !ReferenceEquals(head, work) && head.IsCancelled)
            {
                _pending.Dequeue();
                telemetry.QueueLength.Add(-1);
            }

            if (!_pending.TryPeek(out var first) || !ReferenceEquals(first, work))
            {
                return false;
            }

            _pending.Dequeue();
            telemetry.QueueLength.Add(-1);
            if (!work.TryStart())
            {
                return false;
            }

            Claimed();
        }

        RunInline(work);
        return true;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        List<RolloutWork> left;
        bool idle;
        lock (_gate)
        {
            _stopped = true;
            left = [.. _pending];
            _pending.Clear();
            idle = _running == 0;
        }

        telemetry.QueueLength.Add(-left.Count);

        // The orchestrator is stopping: each rollout still queued ends at once (it stays queued in the store).
        foreach (var work in left)
        {
            if (work.TryStart())
            {
                await execute(work).ConfigureAwait(false);
            }
        }

        if (!idle)
        {
            await _idle.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Hands the thread pool one dispatch for each queued rollout a free slot could start.</summary>
    private void Pump()
    {
        lock (_gate)
        {
            while (_started && !_stopped && _scheduled + _running < concurrency && _pending.Count > _scheduled)
            {
                _scheduled++;
                ThreadPool.UnsafeQueueUserWorkItem(static queue => queue.DispatchOne(), this, preferLocal: false);
            }
        }
    }

    /// <summary>On a pool thread: starts the head of the queue if a slot is still free (someone may have taken it).</summary>
    private void DispatchOne()
    {
        RolloutWork? work = null;
        lock (_gate)
        {
            _scheduled--;
            if (!_stopped && _running < concurrency)
            {
                while (_pending.TryDequeue(out var next))
                {
                    telemetry.QueueLength.Add(-1);
                    if (next.TryStart())
                    {
                        work = next;
                        Claimed();
                        break;
                    }
                }
            }
        }

        if (work is not null)
        {
            _ = RunAsync(work);
        }
    }

    /// <summary>Runs a claimed rollout on the calling thread, in the queue's clean execution context, until its first asynchronous wait.</summary>
    private void RunInline(RolloutWork work)
        => ExecutionContext.Run(_clean!, _runClaimed ??= state => _ = RunAsync((RolloutWork)state!), work);

    /// <summary>Counts a started rollout; called under the lock.</summary>
    private void Claimed()
    {
        _running++;
        _peak = Math.Max(_peak, _running);
    }

    private async Task RunAsync(RolloutWork work)
    {
        try
        {
            await execute(work).ConfigureAwait(false);
        }
        finally
        {
            bool idle;
            lock (_gate)
            {
                _running--;
                idle = _stopped && _running == 0;
            }

            if (idle)
            {
                _idle.TrySetResult();
            }

            Pump();
        }
    }
}
