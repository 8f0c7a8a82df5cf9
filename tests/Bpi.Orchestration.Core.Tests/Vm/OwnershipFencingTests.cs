using Bpi.Orchestration.Ownership;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.TestUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary>
/// Fencing covers the runtime, not only the record: an instance that lost a deployment while a step was in flight (paused
/// past its lease) confirms ownership before the next step and before each runtime call, finds another instance holds the
/// lease, and stops without calling the runtime again.
/// </summary>
public sealed class OwnershipFencingTests
{
    [Fact]
    public async Task A_rollout_that_loses_ownership_between_steps_makes_no_further_runtime_call()
    {
        var leases = new LeaseTable("instance-a");
        GatedRuntime? gated = null;
        await using var host = new TestHost(extra: b =>
        {
            b.Services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp => gated = new GatedRuntime(sp.GetRequiredService<InMemoryWorkloadRuntime>())));
            b.Services.Replace(ServiceDescriptor.Singleton<IDeploymentOwnership>(leases));
        });
        var vm = host.Vm;
        var id = await vm.DeployAsync(Specs.Web(replicas: 2));
        await host.SettleAsync(id);
        Assert.True(leases.Confirmations > 0, "the first rollout never confirmed its ownership");

        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = vm.WatchAsync(id, watching.Token).GetAsyncEnumerator(watching.Token);

        // The update's first runtime call is in flight (an engine call already sent) when another instance takes the lease.
        gated!.Block((workload, _) => workload.DeploymentId == id, ignoreCancellation: true);
        await vm.UpdateAsync(id, Specs.Web(replicas: 2, image: "web:2"));
        await gated.Entered.WaitAsync(TestHost.Timeout());
        var stepsBefore = host.Audit.Snapshot().Count(e => e.Target == id && e.Action == "rollout.step.started");
        leases.TakeOver(id, "instance-b");
        var callsBefore = host.Runtime.Calls;
        gated.Release();

        var fenced = await Eventually.FirstAsync(events, e => e.Kind == DeploymentEventKind.OwnershipFenced);
        await Eventually.UntilAsync(() => host.Queue.Running == 0, "the fenced rollout's run ended");
        await events.DisposeAsync();

        // The call in flight completes (it cannot be taken back); nothing after it reaches the runtime.
        Assert.Equal(callsBefore + 1, host.Runtime.Calls);
        Assert.Equal(stepsBefore, host.Audit.Snapshot().Count(e => e.Target == id && e.Action == "rollout.step.started"));
        Assert.Contains("no longer owns", fenced.Message, StringComparison.Ordinal);
        var audit = Assert.Single(host.Audit.Snapshot(), e => e.Action == RolloutStepContext.OwnershipFencedEventName);
        Assert.Equal(id, audit.Target);

        // Left to the new owner: not failed, not rolled back, its cursor stored for the next owner.
        var status = await vm.GetStatusAsync(id);
        Assert.Equal(DeploymentState.Deploying, status.State);
        Assert.DoesNotContain(host.Audit.Snapshot(), e => e.Target == id && e.Action is "rollout.rollback" or "deployment.failed");
    }

    [Fact]
    public async Task With_one_instance_confirming_ownership_costs_nothing_and_never_stops_a_rollout()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        await host.SettleAsync(id);
        await host.Vm.UpdateAsync(id, Specs.Web(replicas: 2, image: "web:2"));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.DoesNotContain(host.Audit.Snapshot(), e => e.Action == RolloutStepContext.OwnershipFencedEventName);
    }

    /// <summary>
    /// An in-memory lease table shared by "instances": this instance believes its lease is valid (it has not seen the
    /// take-over, as a paused process would not), so <see cref="ShouldAct"/> stays true; <see cref="ConfirmAsync"/>
    /// reads the table, as the PostgreSQL ownership reads the lease row.
    /// </summary>
    private sealed class LeaseTable(string self) : IDeploymentOwnership
    {
        private readonly Dictionary<string, (string Owner, long Token)> _rows = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _held = new(StringComparer.Ordinal);
        private int _confirmations;

        public int Confirmations => Volatile.Read(ref _confirmations);

        public void TakeOver(string deploymentId, string owner)
        {
            lock (_rows)
            {
                _rows[deploymentId] = (owner, _rows[deploymentId].Token + 1);
            }
        }

        public bool ShouldAct(string deploymentId)
        {
            lock (_rows)
            {
                return _held.ContainsKey(deploymentId);
            }
        }

        public long GetFencingToken(string deploymentId)
        {
            lock (_rows)
            {
                return _held.GetValueOrDefault(deploymentId);
            }
        }

        public ValueTask ClaimNewAsync(string deploymentId, CancellationToken cancellationToken = default)
        {
            lock (_rows)
            {
                _rows[deploymentId] = (self, 1);
                _held[deploymentId] = 1;
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask<bool> ConfirmAsync(string deploymentId, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _confirmations);
            lock (_rows)
            {
                return ValueTask.FromResult(
                    _held.TryGetValue(deploymentId, out var token)
                    && _rows.TryGetValue(deploymentId, out var row)
                    && row.Owner == self
                    && row.Token == token);
            }
        }
    }
}
