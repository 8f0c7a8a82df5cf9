using Xunit;

namespace Bpi.Orchestration.Components.Tests.Processes;

/// <summary>
/// A start whose process already runs when the runtime is disposed, or its deployment removed, must not leave that
/// process behind (CLI demo interrupted with Ctrl+C: one SampleService process sometimes survived). The start is held
/// right after its process started by the runtime's test seam, so the race is reproduced without timing.
/// </summary>
public sealed class ProcessStartsUnderWayTests
{
    [Fact]
    public async Task Disposing_the_runtime_while_a_start_is_under_way_waits_for_it_and_leaves_no_process()
    {
        await using var scope = new RuntimeScope();
        var gate = new StartGate(scope);
        var ensure = scope.Runtime.EnsureReplicasAsync(scope.Shell("exec sleep 300"), 1).AsTask();
        var instanceId = await gate.Started;
        Assert.Single(ProcFs.WithEnvironment("BPI_INSTANCE_ID=" + instanceId));

        var disposing = scope.Runtime.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted, "disposal completed while a start was still under way");
        gate.Release();
        await disposing;

        var refused = await Assert.ThrowsAsync<ObjectDisposedException>(() => ensure);
        Assert.Contains(instanceId, refused.Message, StringComparison.Ordinal);
        Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id));
        Assert.Empty(await (await scope.RestartAsync()).ListOwnedAsync());
    }

    [Fact]
    public async Task A_start_requested_after_disposal_is_refused_and_starts_nothing()
    {
        await using var scope = new RuntimeScope();
        await scope.Runtime.ListOwnedAsync();
        await scope.Runtime.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => scope.Runtime.EnsureReplicasAsync(scope.Shell("exec sleep 300"), 1).AsTask());

        Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id));
        Assert.Empty(await (await scope.RestartAsync()).ListOwnedAsync());
    }

    [Fact]
    public async Task Removing_a_deployment_while_one_of_its_instances_is_starting_removes_that_instance_too()
    {
        await using var scope = new RuntimeScope();
        var gate = new StartGate(scope);
        var ensure = scope.Runtime.EnsureReplicasAsync(scope.Shell("exec sleep 300"), 1).AsTask();
        await gate.Started;

        var removing = scope.Runtime.RemoveDeploymentAsync(scope.DeploymentId).AsTask();
        Assert.False(removing.IsCompleted, "the removal completed while a start of its deployment was still under way");
        gate.Release();
        await ensure;
        await removing;

        Assert.Empty(await scope.Runtime.GetInstancesAsync(scope.DeploymentId));
        Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + scope.Id));
    }

    /// <summary>Holds every start of the scope's runtime right after its process started, until released.</summary>
    private sealed class StartGate
    {
        private readonly TaskCompletionSource<string> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StartGate(RuntimeScope scope) => scope.Runtime.ProcessStartedHook = instanceId =>
        {
            _started.TrySetResult(instanceId);
            return _release.Task;
        };

        /// <summary>The id of the first instance whose process started (the test fails after 30 s without one).</summary>
        public Task<string> Started => _started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        public void Release() => _release.TrySetResult();
    }
}
