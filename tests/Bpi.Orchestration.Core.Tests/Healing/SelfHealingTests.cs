using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.TestUtilities;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Healing;

/// <summary>Self-healing between rollouts on the in-memory runtime with a manual clock (issue #14).</summary>
public sealed class SelfHealingTests
{
    [Fact]
    public async Task SelfHealing_replaces_a_killed_instance_takes_it_out_of_traffic_and_audits_the_repair()
    {
        await using var host = new TestHost(options: o => o.SelfHealing = true);
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 3));
        await host.SettleAsync(id);
        var victim = Running(host.Runtime, id)[0];

        Assert.True(host.Runtime.Faults.Kill(victim.InstanceId));

        await Eventually.UntilAsync(
            () => Running(host.Runtime, id).Count == 3 && host.Runtime.Snapshot().All(i => i.InstanceId != victim.InstanceId),
            "the killed instance is replaced");
        var status = await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.Healing == HealingState.Healthy && s.HealingDetails.Count == 1 && s.HealingDetails[0].Restarts == 1, "the status shows the restart");
        var web = status.HealingDetails[0];
        Assert.Equal(137, web.LastExitCode);
        Assert.Contains("exited", web.LastFailure, StringComparison.Ordinal);
        Assert.Equal(1, web.InstanceRestarts.Values.Sum());
        Assert.Equal(DeploymentState.Running, status.State);

        var route = host.Router.GetRoute(TrafficRoute.ForComponent(id, "web"))!;
        var endpoints = route.Backends.Single().Endpoints;
        Assert.Equal(3, endpoints.Count);
        Assert.DoesNotContain(victim.Endpoint, endpoints);
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "deployment.repaired" && e.Outcome == "succeeded" && e.Target == id);
    }

    [Fact]
    public async Task SelfHealing_backs_a_crash_loop_off_10_20_40_seconds_doubling_to_a_5_minute_cap()
    {
        await using var host = new TestHost(options: o => o.SelfHealing = true);
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 1));
        await host.SettleAsync(id);

        // The first failure is replaced at once.
        var first = Running(host.Runtime, id).Single();
        host.Runtime.Faults.Kill(first.InstanceId, exitCode: 2);
        var current = await ReplacementOf(host, id, first.InstanceId);

        foreach (var seconds in new[] { 10, 20, 40, 80, 160, 300, 300 })
        {
            var killedAt = host.Clock.GetUtcNow();
            host.Runtime.Faults.Kill(current.InstanceId, exitCode: 2);
            var status = await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.Healing == HealingState.CrashLoopBackOff, "the deployment is in crash-loop back-off");
            Assert.Equal(killedAt + TimeSpan.FromSeconds(seconds), status.HealingDetails[0].NextRestartAt);
            Assert.Equal(2, status.HealingDetails[0].LastExitCode);

            // A second short of the back-off nothing is replaced (a resync on the way finds it not due).
            host.Clock.Advance(TimeSpan.FromSeconds(seconds - 1));
            await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.Healing == HealingState.CrashLoopBackOff, "still backing off");
            Assert.Contains(host.Runtime.Snapshot(), i => i.InstanceId == current.InstanceId);

            host.Clock.Advance(TimeSpan.FromSeconds(1));
            current = await ReplacementOf(host, id, current.InstanceId);
        }

        var final = await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.Healing == HealingState.Healthy, "healthy again");
        Assert.Equal(8, final.HealingDetails[0].Restarts);
        Assert.Equal(8, final.HealingDetails[0].InstanceRestarts[current.InstanceId]);
    }

    [Fact]
    public async Task SelfHealing_replaces_an_instance_failing_its_liveness_check()
    {
        await using var host = new TestHost(options: o => o.SelfHealing = true, extra: b => b.AddHealthProbe<InMemoryHealthProbe>());
        var spec = WithChecks(Specs.Web(replicas: 2), liveness: new HealthCheckSpec { Path = "/live", Period = TimeSpan.FromSeconds(10), FailureThreshold = 3 });
        var id = await host.Vm.DeployAsync(spec);
        await host.SettleAsync(id);
        var victim = Running(host.Runtime, id)[0];

        host.Runtime.Faults.FailHealthCheck(victim.InstanceId, "/live");

        // A probe period passes on every look: three failed probes in a row replace the instance.
        await Eventually.UntilAsync(
            () => Tick(host) && Running(host.Runtime, id).Count == 2 && host.Runtime.Snapshot().All(i => i.InstanceId != victim.InstanceId),
            "the instance failing liveness is replaced");
        var status = await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.HealingDetails.Count == 1 && s.HealingDetails[0].Restarts == 1, "one restart");
        Assert.Contains("liveness", status.HealingDetails[0].LastFailure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelfHealing_takes_an_instance_failing_readiness_out_of_traffic_keeps_it_and_routes_it_again_when_ready()
    {
        await using var host = new TestHost(options: o => o.SelfHealing = true, extra: b => b.AddHealthProbe<InMemoryHealthProbe>());
        var spec = WithChecks(Specs.Web(replicas: 3), readiness: new HealthCheckSpec { Path = "/ready", Period = TimeSpan.FromSeconds(10), FailureThreshold = 1 });
        var id = await host.Vm.DeployAsync(spec);
        await host.SettleAsync(id);
        var victim = Running(host.Runtime, id)[0];
        var service = TrafficRoute.ForComponent(id, "web");

        host.Runtime.Faults.FailHealthCheck(victim.InstanceId, "/ready");

        await Eventually.UntilAsync(() => Tick(host) && Routed(host, service).Count == 2 && !Routed(host, service).Contains(victim.Endpoint!), "the unready instance leaves traffic");
        var status = await host.Vm.GetStatusAsync(id);
        Assert.Equal([victim.InstanceId], status.HealingDetails[0].OutOfTraffic);
        Assert.Equal(0, status.HealingDetails[0].Restarts);
        Assert.Contains(host.Runtime.Snapshot(), i => i.InstanceId == victim.InstanceId && i.State == InstanceState.Running);
        for (var request = 0; request < 30; request++)
        {
            Assert.NotEqual(victim.Endpoint, host.Router.SendRequest(service).Endpoint);
        }

        host.Runtime.Faults.FailHealthCheck(victim.InstanceId, "/ready", failing: false);

        await Eventually.UntilAsync(() => Tick(host) && Routed(host, service).Count == 3, "the instance is routed again once ready");
        await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.Healing == HealingState.Healthy, "healthy");
        Assert.Equal(3, Running(host.Runtime, id).Count);
    }

    [Fact]
    public async Task SelfHealing_a_rollout_that_starts_mid_repair_cancels_the_repair_and_wins()
    {
        var clock = new ManualTimeProvider();
        using var inner = new InMemoryWorkloadRuntime(timeProvider: clock);
        var runtime = new Vm.GatedRuntime(inner);
        var audit = new Bpi.Orchestration.Auditing.InMemoryAuditSink(10_000);
        var services = new ServiceCollection();
        services.AddOrchestration(o => { o.VmId = "vm-test"; o.SelfHealing = true; }).UseTimeProvider(clock).UseAuditSink(audit);
        services.AddSingleton<IWorkloadRuntime>(runtime);
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var id = await vm.DeployAsync(Specs.Web(replicas: 3));
        Assert.Equal(DeploymentState.Running, (await vm.WaitUntilSettledAsync(id, TestHost.Timeout())).State);

        // The gated runtime sends no events: the periodic resync finds the dead instance, and the repair blocks.
        runtime.Block((workload, replicas) => workload.Revision == 1 && replicas == 3);
        inner.Faults.Kill(inner.Snapshot().First(i => i.DeploymentId == id).InstanceId);
        clock.Advance(TimeSpan.FromSeconds(30));
        await runtime.Entered.WaitAsync(TestHost.Timeout());
        Assert.Equal(HealingState.Healing, (await vm.GetStatusAsync(id)).Healing);

        await vm.UpdateAsync(id, Specs.Web(replicas: 3, image: "web:2"));
        var status = await vm.WaitUntilSettledAsync(id, TestHost.Timeout());

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(2, status.StableRevision);
        Assert.Equal(3, inner.Snapshot().Count(i => i.DeploymentId == id && i.Revision == 2 && i.State == InstanceState.Running));
        Assert.DoesNotContain(inner.Snapshot(), i => i.DeploymentId == id && i.Revision == 1);
        Assert.Contains(audit.Snapshot(), e => e.Action == "deployment.repaired" && e.Outcome == "cancelled");
    }

    [Fact]
    public async Task SelfHealing_a_repair_whose_record_is_superseded_mid_step_never_routes_traffic_back_to_the_old_revision()
    {
        // Regression: a repair was blocked in an engine call that does not stop when cancelled, an update began, and the
        // repair must not go on to its traffic step (routing revision 1) once its record is superseded.
        var clock = new ManualTimeProvider();
        using var inner = new InMemoryWorkloadRuntime(timeProvider: clock);
        var runtime = new Vm.GatedRuntime(inner);
        var audit = new Bpi.Orchestration.Auditing.InMemoryAuditSink(10_000);
        var services = new ServiceCollection();
        services.AddOrchestration(o => { o.VmId = "vm-test"; o.SelfHealing = true; }).UseTimeProvider(clock).UseAuditSink(audit).AddInMemoryTrafficRouter();
        services.AddSingleton<IWorkloadRuntime>(runtime);
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var router = provider.GetRequiredService<InMemoryTrafficRouter>();
        var id = await vm.DeployAsync(Specs.Web(replicas: 3));
        Assert.Equal(DeploymentState.Running, (await vm.WaitUntilSettledAsync(id, TestHost.Timeout())).State);

        runtime.Block((workload, replicas) => workload.Revision == 1 && replicas == 3, ignoreCancellation: true);
        inner.Faults.Kill(inner.Snapshot().First(i => i.DeploymentId == id).InstanceId);
        clock.Advance(TimeSpan.FromSeconds(30));
        await runtime.Entered.WaitAsync(TestHost.Timeout());
        var updateAccepted = audit.Snapshot().Count;

        await vm.UpdateAsync(id, Specs.Web(replicas: 3, image: "web:2"));
        runtime.Release();
        var status = await vm.WaitUntilSettledAsync(id, TestHost.Timeout());

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(2, status.StableRevision);
        Assert.Equal(new Dictionary<int, int> { [2] = 100 }, router.GetWeights(TrafficRoute.ForComponent(id, "web")));
        var after = audit.Snapshot().Skip(updateAccepted).ToList();
        Assert.Contains(after, e => e.Action == "deployment.repaired" && e.Outcome == "cancelled");
        Assert.DoesNotContain(after, e => e.Action == "rollout.step.started" && e.Data?.GetValueOrDefault("plan") == "Repair" && e.Data?.GetValueOrDefault("step.kind") == "set-traffic");
    }

    [Fact]
    public async Task SelfHealing_leaves_an_ended_instance_of_a_never_restarted_component_and_says_degraded()
    {
        await using var host = new TestHost(options: o => o.SelfHealing = true);
        var spec = Specs.Web(replicas: 2);
        spec = spec with { Components = [spec.Components[0] with { Restart = RestartPolicySpec.Never }] };
        var id = await host.Vm.DeployAsync(spec);
        await host.SettleAsync(id);
        var victim = Running(host.Runtime, id)[0];

        host.Runtime.Faults.Kill(victim.InstanceId, exitCode: 0);

        var status = await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.Healing == HealingState.Degraded, "degraded");
        Assert.Equal(0, status.HealingDetails[0].Restarts);
        Assert.Contains(host.Runtime.Snapshot(), i => i.InstanceId == victim.InstanceId && i.IsTerminated);
        Assert.Single(Running(host.Runtime, id));
    }

    [Fact]
    public async Task SelfHealing_recreates_an_instance_removed_behind_its_back_and_replaces_on_failure_only_up_to_its_limit()
    {
        await using var host = new TestHost(options: o => o.SelfHealing = true);
        var spec = Specs.Web(replicas: 1);
        spec = spec with { Components = [spec.Components[0] with { Restart = RestartPolicySpec.Parse("on-failure:1") }] };
        var id = await host.Vm.DeployAsync(spec);
        await host.SettleAsync(id);

        var removed = Running(host.Runtime, id).Single();
        host.Runtime.Faults.Remove(removed.InstanceId);
        var second = await ReplacementOf(host, id, removed.InstanceId);

        host.Runtime.Faults.Kill(second.InstanceId, exitCode: 1);
        var third = await ReplacementOf(host, id, second.InstanceId);

        host.Runtime.Faults.Kill(third.InstanceId, exitCode: 1);
        var status = await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.Healing == HealingState.Degraded, "the restart limit is reached");
        Assert.Equal(1, status.HealingDetails[0].Restarts);
    }

    [Theory]
    [InlineData("always", RestartPolicyKind.Always, null)]
    [InlineData("Never", RestartPolicyKind.Never, null)]
    [InlineData("on-failure", RestartPolicyKind.OnFailure, null)]
    [InlineData("on-failure:5", RestartPolicyKind.OnFailure, 5)]
    public void SelfHealing_restart_policies_parse_as_docker_writes_them(string text, RestartPolicyKind kind, int? max)
    {
        var policy = RestartPolicySpec.Parse(text);
        Assert.Equal(kind, policy.Kind);
        Assert.Equal(max, policy.MaxRestarts);
        Assert.Equal(policy, RestartPolicySpec.Parse(policy.ToString()));
    }

    [Fact]
    public void SelfHealing_a_restart_policy_that_is_not_one_is_refused_with_the_ones_that_are()
    {
        var error = Assert.Throws<OrchestrationException>(() => RestartPolicySpec.Parse("sometimes"));
        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("on-failure:N", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelfHealing_brings_the_stable_revision_back_after_a_rollout_and_its_rollback_failed_while_the_engine_was_away()
    {
        await using var host = new TestHost(options: o => o.SelfHealing = true);
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        await host.SettleAsync(id);

        // Recreate removes v1, then v2 fails to start and the engine goes away at that moment: the rollback fails too.
        host.Runtime.Faults.FailStart(r =>
        {
            if (r.Revision != 2)
            {
                return false;
            }

            host.Runtime.Faults.FailNextCalls(1_000_000);
            return true;
        }, exitCode: 1, message: "exec format error");
        await host.Vm.UpdateAsync(id, Specs.Web(replicas: 2, image: "web:2"));
        var failed = await host.SettleAsync(id);
        Assert.Equal(DeploymentState.Failed, failed.State);
        Assert.Contains("rollback failed too", failed.Message, StringComparison.Ordinal);
        Assert.Empty(Running(host.Runtime, id));

        // The engine is back: the next resync finds the deployment with nothing serving and brings revision 1 back.
        host.Runtime.Faults.Clear();
        host.Clock.Advance(TimeSpan.FromSeconds(30));
        await host.DriveAsync(host.Vm.WaitForStateAsync(id, s => s == DeploymentState.RolledBack, TestHost.Timeout()));
        var healed = await host.DriveAsync(Eventually.UntilAsync(
            () => host.Vm.GetStatusAsync(id),
            s => s.Healing == HealingState.Healthy && Running(host.Runtime, id).Count == 2 && host.Runtime.Snapshot().All(i => i.DeploymentId != id || i.Revision == 1),
            "two instances of revision 1 run, healthy, and nothing of revision 2 is left"));
        Assert.Equal(1, healed.StableRevision);
        Assert.Null(healed.TargetRevision);
        Assert.StartsWith("Self-healing brought revision 1 back after the rollback had failed.", healed.Message, StringComparison.Ordinal);
        Assert.Equal(new Dictionary<int, int> { [1] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "rollout.rolled_back" && e.Target == id && e.Data!["reason"]!.StartsWith("Self-healing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SelfHealing_leaves_a_failed_deployment_alone_when_its_automatic_rollback_is_off()
    {
        await using var host = new TestHost(options: o => o.SelfHealing = true);
        var spec = Specs.Web(replicas: 2) with { Rollback = new RollbackSettings { Automatic = false } };
        var id = await host.Vm.DeployAsync(spec);
        await host.SettleAsync(id);
        host.Runtime.Faults.FailStart(r => r.Revision == 2, exitCode: 1, message: "exec format error");

        await host.Vm.UpdateAsync(id, spec with { Components = [spec.Components[0] with { Image = "web:2" }] });
        var failed = await host.SettleAsync(id);
        Assert.Equal(DeploymentState.Failed, failed.State);
        var before = host.Runtime.Snapshot().Where(i => i.DeploymentId == id).Select(i => (i.InstanceId, i.State)).ToList();

        // Several resyncs pass: the failed state is the user's to resolve, nothing is repaired or removed.
        for (var i = 0; i < 4; i++)
        {
            host.Clock.Advance(TimeSpan.FromSeconds(30));
        }

        var status = await host.Vm.GetStatusAsync(id);
        Assert.Equal(DeploymentState.Failed, status.State);
        Assert.Equal(before, host.Runtime.Snapshot().Where(i => i.DeploymentId == id).Select(i => (i.InstanceId, i.State)).ToList());
        Assert.DoesNotContain(host.Audit.Snapshot(), e => e.Action == "deployment.repaired" && e.Target == id);
    }

    [Fact]
    public async Task A_destroyed_deployment_leaves_no_healing_wake_that_keeps_it_alive()
    {
        await using var host = new TestHost(options: o => o.SelfHealing = true);
        var vm = (OrchestrationVm)host.Vm;
        var kept = await host.Vm.DeployAsync(Specs.Web(replicas: 1, name: "kept"));
        await host.SettleAsync(kept);
        host.Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0, vm.PendingHealingWakes);

        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2, name: "gone"));
        await host.SettleAsync(id);

        // The plan run just ended: the healer looks at what it left a moment later.
        Assert.Equal(1, vm.PendingHealingWakes);

        await host.Vm.DestroyAsync(id);

        // A wake that outlived the destroy would keep the entry (and all it references) reachable until it was due: with
        // many short-lived deployments that held thousands of destroyed entries alive and made every collection slow.
        Assert.Equal(0, vm.PendingHealingWakes);
        host.Clock.Advance(TimeSpan.FromSeconds(5));
        Assert.DoesNotContain(host.Audit.Snapshot(), e => e.Action == "deployment.repaired" && e.Target == id);
    }

    private static async Task<WorkloadInstance> ReplacementOf(TestHost host, string id, string replaced)
    {
        await Eventually.UntilAsync(
            () => host.Runtime.Snapshot().All(i => i.InstanceId != replaced) && Running(host.Runtime, id).Count >= 1,
            $"{replaced} is replaced");
        return Running(host.Runtime, id).Single();
    }

    /// <summary>One probe period passes (the probes run on the clock); true, to chain into a condition.</summary>
    private static bool Tick(TestHost host)
    {
        host.Clock.Advance(TimeSpan.FromSeconds(10));
        return true;
    }

    private static List<ServiceEndpoint> Routed(TestHost host, string service)
        => host.Router.GetRoute(service)?.Backends.SelectMany(b => b.Endpoints).ToList() ?? [];

    private static List<WorkloadInstance> Running(InMemoryWorkloadRuntime runtime, string id)
        => [.. runtime.Snapshot().Where(i => i.DeploymentId == id && i.State == InstanceState.Running).OrderBy(i => i.InstanceId, StringComparer.Ordinal)];

    private static DeploymentSpec WithChecks(DeploymentSpec spec, HealthCheckSpec? liveness = null, HealthCheckSpec? readiness = null)
        => spec with { Components = [spec.Components[0] with { LivenessCheck = liveness, HealthCheck = readiness }] };
}
