using Bpi.Orchestration.Health;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.TestUtilities;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Healing;

/// <summary>
/// Self-healing never outlives its orchestrator: with it on by default, a Core test host once never exited, because a
/// healing pass's runtime calls carried no cancellation. Disposing must cancel what is in flight and await it.
/// </summary>
public sealed class SelfHealingShutdownTests
{
    [Fact]
    public async Task SelfHealing_is_on_by_default_and_a_VM_disposes_promptly_while_a_pass_waits_on_the_runtime()
    {
        Assert.True(new OrchestrationOptions().SelfHealing);
        var clock = new ManualTimeProvider();
        using var inner = new InMemoryWorkloadRuntime(timeProvider: clock);
        var runtime = new HangingRuntime(inner);
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "vm-test").UseTimeProvider(clock);
        services.AddSingleton<IWorkloadRuntime>(runtime);
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var id = await vm.DeployAsync(Specs.Web(replicas: 2));
        Assert.Equal(DeploymentState.Running, (await vm.WaitUntilSettledAsync(id, TestHost.Timeout())).State);

        // The resync's pass asks the runtime for the deployment's instances: an engine call that never answers.
        runtime.HangNextRead();
        clock.Advance(new OrchestrationOptions().HealingResyncInterval);
        await runtime.Entered.WaitAsync(TestHost.Timeout());

        await vm.DisposeAsync().AsTask().WaitAsync(TestHost.Timeout());

        // The call was cancelled, and it had returned before DisposeAsync completed (awaited, not left behind).
        Assert.True(runtime.Returned.IsCompleted, "the hanging runtime call returned before the orchestrator was disposed");
        Assert.True(runtime.SawCancellation);
    }

    [Fact]
    public async Task SelfHealing_a_VM_disposes_promptly_while_a_probe_round_waits_on_its_probe()
    {
        var probe = new HangingProbe();
        await using var host = new TestHost(extra: b => b.Services.AddSingleton<IHealthProbe>(probe));
        var spec = Specs.Web(replicas: 1);
        spec = spec with
        {
            Components =
            [
                spec.Components[0] with
                {
                    // A timeout the manual clock never reaches: only the orchestrator stopping ends the probe.
                    LivenessCheck = new HealthCheckSpec { Path = "/live", Period = TimeSpan.FromSeconds(10), Timeout = TimeSpan.FromHours(1) },
                },
            ],
        };
        var id = await host.Vm.DeployAsync(spec);
        await host.SettleAsync(id);

        // The probe timer starts with the first healing pass (after the rollout): advance a period at a time until a round runs.
        await Eventually.UntilAsync(
            () =>
            {
                host.Clock.Advance(TimeSpan.FromSeconds(10));
                return probe.Entered.IsCompleted;
            },
            "a probe round is in flight");

        await host.Vm.DisposeAsync().AsTask().WaitAsync(TestHost.Timeout());

        Assert.True(probe.Returned.IsCompleted, "the probe in flight returned before the orchestrator was disposed");
        Assert.True(probe.SawCancellation);
        Assert.Equal(1, probe.Calls);
    }

    /// <summary>The in-memory runtime, whose next instance read waits until it is cancelled (an engine that never answers).</summary>
    private sealed class HangingRuntime(InMemoryWorkloadRuntime inner) : IWorkloadRuntime
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _returned = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _hang;

        public Task Entered => _entered.Task;

        public Task Returned => _returned.Task;

        public bool SawCancellation { get; private set; }

        public string Name => inner.Name;

        public void HangNextRead() => Volatile.Write(ref _hang, 1);

        public async ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _hang, 0) == 1)
            {
                _entered.TrySetResult();
                try
                {
                    await new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously).Task.WaitAsync(cancellationToken);
                }
                finally
                {
                    SawCancellation = cancellationToken.IsCancellationRequested;
                    _returned.TrySetResult();
                }
            }

            return await inner.GetInstancesAsync(deploymentId, componentId, revision, cancellationToken);
        }

        public ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default) => inner.EnsureReplicasAsync(revision, replicas, cancellationToken);

        public ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default) => inner.RemoveDeploymentAsync(deploymentId, cancellationToken);

        public ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default) => inner.ListOwnedAsync(cancellationToken);

        public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default) => inner.GetLogTailAsync(instanceId, lines, cancellationToken);
    }

    /// <summary>A probe that waits until it is cancelled.</summary>
    private sealed class HangingProbe : IHealthProbe
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _returned = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public Task Entered => _entered.Task;

        public Task Returned => _returned.Task;

        public bool SawCancellation { get; private set; }

        public int Calls => Volatile.Read(ref _calls);

        public bool CanProbe(HealthCheckKind kind) => true;

        public async ValueTask<ProbeResult> ProbeAsync(WorkloadInstance instance, HealthCheckSpec check, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            _entered.TrySetResult();
            try
            {
                await new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously).Task.WaitAsync(cancellationToken);
                return ProbeResult.Pass;
            }
            finally
            {
                SawCancellation = cancellationToken.IsCancellationRequested;
                _returned.TrySetResult();
            }
        }
    }
}
