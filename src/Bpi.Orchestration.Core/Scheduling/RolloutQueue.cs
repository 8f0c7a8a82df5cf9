using System.Threading.Channels;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration;

/// <summary>
/// The deployment queue: rollouts wait in FIFO order and at most <c>concurrency</c> run at once. A queued rollout
/// that is aborted or destroyed is skipped without taking a slot.
/// </summary>
internal sealed class RolloutQueue(int concurrency, Func<RolloutWork, Task> execute, OrchestrationTelemetry telemetry)
{
    private readonly Channel<RolloutWork> _channel = Channel.CreateUnbounded<RolloutWork>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private Task[] _workers = [];
    private int _running;
    private int _peak;

    /// <summary>How many rollouts run right now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>The highest number of rollouts that ever ran at once.</summary>
    public int PeakRunning => Volatile.Read(ref _peak);

    public void Start()
    {
        var workers = new Task[concurrency];

        // Workers must not capture the first caller's execution context (its OrchestrationActor scope, for one).
        using (ExecutionContext.SuppressFlow())
        {
            for (var i = 0; i < workers.Length; i++)
            {
                workers[i] = Task.Run(WorkAsync);
            }
        }

        _workers = workers;
    }

    public void Enqueue(RolloutWork work)
    {
        if (!_channel.Writer.TryWrite(work))
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotRunning, "The orchestrator is stopping and accepts no new rollouts.");
        }

        telemetry.QueueLength.Add(1);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _channel.Writer.TryComplete();
        await Task.WhenAll(_workers).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task WorkAsync()
    {
        await foreach (var work in _channel.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            telemetry.QueueLength.Add(-1);
            if (!work.TryStart())
            {
                continue;
            }

            var running = Interlocked.Increment(ref _running);
            int peak;
            while (running > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, running, peak) != peak)
            {
            }

            try
            {
                await execute(work).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
    }
}
