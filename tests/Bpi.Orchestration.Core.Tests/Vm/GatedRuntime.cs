using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary>
/// The in-memory runtime with one blocking hook: the first call that converges a matching workload to a matching count
/// stops before it reaches the runtime until the test releases it (or the caller's token is cancelled, as a stopping
/// orchestrator cancels it).
/// </summary>
internal sealed class GatedRuntime(InMemoryWorkloadRuntime inner) : ForwardingWorkloadRuntime(inner)
{
    private Func<WorkloadRevision, int, bool>? _match;
    private bool _ignoreCancellation;
    private TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a blocked call has arrived at the gate.</summary>
    public Task Entered => _entered.Task;

    /// <summary>Blocks the next <c>EnsureReplicasAsync</c> that matches (with <paramref name="ignoreCancellation"/>, until released even when cancelled, as an engine call already sent).</summary>
    public void Block(Func<WorkloadRevision, int, bool> match, bool ignoreCancellation = false)
    {
        _ignoreCancellation = ignoreCancellation;
        _entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _match, match);
    }

    public void Release() => _released.TrySetResult();

    public override async ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
    {
        var match = Volatile.Read(ref _match);
        if (match is not null && match(revision, replicas) && Interlocked.CompareExchange(ref _match, null, match) == match)
        {
            _entered.TrySetResult();
            await (_ignoreCancellation ? _released.Task : _released.Task.WaitAsync(cancellationToken));
        }

        await base.EnsureReplicasAsync(revision, replicas, cancellationToken);
    }
}
