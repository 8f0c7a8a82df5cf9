using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary><see cref="OrchestrationOptions.OnHostStop"/>: what a generic host's stop does to the deployments.</summary>
public sealed class HostStopPolicyTests
{
    private readonly InMemoryAuditSink _audit = new(10_000);
    private readonly InMemoryDeploymentStore _store = new();

    private IHost BuildHost(HostStopAction action, TimeProvider? clock = null, Action<InMemoryRuntimeOptions>? runtime = null)
    {
        var builder = Host.CreateApplicationBuilder();
        var orchestration = builder.Services.AddOrchestration(o => o.OnHostStop = action)
            .AddInMemoryRuntime(runtime)
            .AddInMemoryTrafficRouter()
            .UseAuditSink(_audit)
            .UseDeploymentStore(_store);
        if (clock is not null)
        {
            orchestration.UseTimeProvider(clock);
        }

        return builder.Build();
    }

    private static async Task<(IOrchestrationVm Vm, string[] Ids)> DeployTwoAsync(IHost host)
    {
        await host.StartAsync(TestHost.Timeout());
        var vm = host.Services.GetRequiredService<IOrchestrationVm>();
        var ids = new[] { await vm.DeployAsync(Specs.Web(2, name: "web")), await vm.DeployAsync(Specs.Web(1, name: "api")) };
        foreach (var id in ids)
        {
            Assert.Equal(DeploymentState.Running, (await vm.WaitUntilSettledAsync(id, TestHost.Timeout())).State);
        }

        return (vm, ids);
    }

    [Fact]
    public async Task By_default_a_host_stop_leaves_every_deployment_running()
    {
        using var host = BuildHost(HostStopAction.Leave);
        var (_, ids) = await DeployTwoAsync(host);
        var runtime = host.Services.GetRequiredService<InMemoryWorkloadRuntime>();

        await host.StopAsync(TestHost.Timeout());

        Assert.Equal(3, runtime.Snapshot().Count);
        Assert.All(await _store.ListAsync(), r => Assert.Equal(DeploymentState.Running, r.State));
        Assert.DoesNotContain(_audit.Snapshot(), e => e.Action == "orchestrator.host-stop");
        Assert.Equal(2, ids.Length);
    }

    [Fact]
    public async Task Destroy_on_host_stop_destroys_every_deployment_its_routes_and_instances_and_audits_it()
    {
        using var host = BuildHost(HostStopAction.Destroy);
        var (vm, ids) = await DeployTwoAsync(host);
        var runtime = host.Services.GetRequiredService<InMemoryWorkloadRuntime>();
        var router = host.Services.GetRequiredService<InMemoryTrafficRouter>();
        Assert.NotNull(router.GetRoute(TrafficRoute.ForComponent(ids[0], "web")));

        await host.StopAsync(TestHost.Timeout());

        Assert.Empty(runtime.Snapshot());
        Assert.All(ids, id => Assert.Null(router.GetRoute(TrafficRoute.ForComponent(id, "web"))));
        Assert.All(await _store.ListAsync(), r => Assert.Equal(DeploymentState.Destroyed, r.State));
        var audit = _audit.Snapshot();
        Assert.Equal(2, audit.Count(e => e.Action == "deployment.destroy" && e.Actor == "system" && e.Data!["reason"] == "host-stop"));
        var ended = Assert.Single(audit, e => e.Action == "orchestrator.host-stop" && e.Outcome == "succeeded");
        Assert.Equal("destroy", ended.Data!["action"]);
        Assert.Equal("2", ended.Data["deployments"]);
        Assert.Equal(VmStatus.Stopped, (await vm.GetStateAsync()).Status);
    }

    [Fact]
    public async Task Destroy_on_host_stop_aborts_a_rollout_under_way_and_leaves_nothing_running()
    {
        var clock = new ManualTimeProvider();
        using var host = BuildHost(HostStopAction.Destroy, clock, o => o.StartDelay = TimeSpan.FromSeconds(30));
        await host.StartAsync(TestHost.Timeout());
        var vm = host.Services.GetRequiredService<IOrchestrationVm>();
        var runtime = host.Services.GetRequiredService<InMemoryWorkloadRuntime>();
        var id = await vm.DeployAsync(Specs.Web(3));
        await vm.WaitForStateAsync(id, s => s == DeploymentState.Deploying, TestHost.Timeout());
        await clock.WaitForTimersAsync(1, TestHost.Timeout()); // instances starting, the rollout waiting for them

        await host.StopAsync(TestHost.Timeout());

        Assert.Empty(runtime.Snapshot());
        Assert.Equal(DeploymentState.Destroyed, Assert.Single(await _store.ListAsync()).State);
    }

    [Fact]
    public async Task Stop_workloads_on_host_stop_removes_every_instance_and_keeps_the_records()
    {
        using var host = BuildHost(HostStopAction.StopWorkloads);
        var (_, ids) = await DeployTwoAsync(host);
        var runtime = host.Services.GetRequiredService<InMemoryWorkloadRuntime>();

        await host.StopAsync(TestHost.Timeout());

        Assert.Empty(runtime.Snapshot());
        var records = await _store.ListAsync();
        Assert.Equal(ids.Order(), records.Select(r => r.Id).Order());
        Assert.All(records, r => Assert.Equal(DeploymentState.Running, r.State));
        var audit = _audit.Snapshot();
        Assert.Equal(ids.Order(), audit.Where(e => e.Action == "deployment.workloads.stopped" && e.Outcome == "succeeded").Select(e => e.Target).Order());
        Assert.Single(audit, e => e.Action == "orchestrator.host-stop" && e.Outcome == "succeeded" && e.Data!["action"] == "stop-workloads");
    }

    [Fact]
    public async Task A_host_stop_whose_timeout_expires_cancels_the_policy_says_so_and_still_stops_the_orchestrator()
    {
        var clock = new ManualTimeProvider();
        using var host = BuildHost(HostStopAction.Destroy, clock);
        var (vm, _) = await DeployTwoAsync(host);
        // From now on every runtime call waits 10 s of a clock nobody advances: the destroy cannot finish.
        var runtime = host.Services.GetRequiredService<InMemoryWorkloadRuntime>();
        var latency = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<InMemoryRuntimeOptions>>().Value;
        latency.CallLatency = TimeSpan.FromSeconds(10);
        using var shutdown = new CancellationTokenSource();

        var stop = host.StopAsync(shutdown.Token);
        await clock.WaitForTimersAsync(1, TestHost.Timeout());
        await shutdown.CancelAsync();
        try
        {
            await stop.WaitAsync(TestHost.Timeout());
        }
        catch (OperationCanceledException)
        {
            // The host may report its own cancelled stop; what matters is what the orchestrator did.
        }

        Assert.Single(_audit.Snapshot(), e => e.Action == "orchestrator.host-stop" && e.Outcome == "cancelled");
        Assert.Equal(VmStatus.Stopped, (await vm.GetStateAsync()).Status);
        Assert.NotEmpty(runtime.Snapshot());
    }

    [Fact]
    public void An_undefined_host_stop_action_is_refused_naming_the_option()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.OnHostStop = (HostStopAction)7).AddInMemoryRuntime();
        using var provider = services.BuildServiceProvider();

        var error = Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IOrchestrationVm>());

        Assert.Contains("OnHostStop: 7 is not a HostStopAction", error.Message, StringComparison.Ordinal);
    }
}
