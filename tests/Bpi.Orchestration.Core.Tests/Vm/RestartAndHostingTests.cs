using Bpi.Orchestration.Auditing;
using System.Diagnostics.Metrics;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

public sealed class RestartAndHostingTests
{
    [Fact]
    public async Task A_rollout_interrupted_by_a_stop_is_resumed_at_its_stored_step_by_the_next_orchestrator()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryDeploymentStore();
        using var runtime = new InMemoryWorkloadRuntime(Microsoft.Extensions.Options.Options.Create(new InMemoryRuntimeOptions { StartDelay = TimeSpan.FromSeconds(30) }), clock);
        string id;

        await using (var first = Build(clock, store, runtime))
        {
            var vm = first.GetRequiredService<IOrchestrationVm>();
            id = await vm.DeployAsync(Specs.Web(replicas: 2));
            await vm.WaitForStateAsync(id, s => s == DeploymentState.Deploying, TestHost.Timeout());
            await clock.WaitForTimersAsync(3, TestHost.Timeout()); // two instance starts and the readiness poll
            await vm.StopAsync();
        }

        var stored = await store.GetAsync(id);
        Assert.Equal(DeploymentState.Deploying, stored!.State);
        Assert.Equal(1, stored.Cursor!.StepIndex); // the scale step completed; waiting for readiness was interrupted
        var calls = runtime.Calls;

        await using var second = Build(clock, store, runtime);
        var resumed = second.GetRequiredService<IOrchestrationVm>();
        await resumed.StartAsync();
        var status = await clock.RunUntilAsync(resumed.WaitUntilSettledAsync(id, TestHost.Timeout()), TimeSpan.FromSeconds(5), cancellationToken: TestHost.Timeout());
        Assert.True(status.State == DeploymentState.Running, status.Message);
        Assert.Equal(2, runtime.Snapshot().Count(i => i.State == InstanceState.Running));
        Assert.True(runtime.Calls > calls);
    }

    [Fact]
    public async Task Instances_of_deployments_the_store_does_not_know_are_left_running_and_reported_on_start()
    {
        var clock = new ManualTimeProvider();
        using var runtime = new InMemoryWorkloadRuntime(timeProvider: clock);
        await runtime.EnsureReplicasAsync(Ghost("vm-test", "ghost-1"), 2);
        await runtime.EnsureReplicasAsync(Ghost("another-vm", "theirs-1"), 1);
        var audit = new InMemoryAuditSink(1000);

        await using var provider = Build(clock, new InMemoryDeploymentStore(), runtime, audit: audit);
        await provider.GetRequiredService<IOrchestrationVm>().StartAsync();

        Assert.Equal(3, runtime.Snapshot().Count); // a missing or unreadable record is no proof of a destroy
        var entry = Assert.Single(audit.Snapshot(), e => e.Action == "runtime.orphans.unknown");
        Assert.Equal("ghost-1", entry.Target);
        Assert.Equal("left", entry.Outcome);
    }

    [Fact]
    public async Task Instances_of_a_deployment_the_store_records_as_destroyed_are_removed_on_start()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryDeploymentStore();
        using var runtime = new InMemoryWorkloadRuntime(timeProvider: clock);
        string id;
        await using (var first = Build(clock, store, runtime))
        {
            var vm = first.GetRequiredService<IOrchestrationVm>();
            id = await vm.DeployAsync(Specs.Web(replicas: 1));
            await vm.StopAsync();
            var record = (await store.GetAsync(id))!;
            await store.SaveAsync(record with { State = DeploymentState.Destroyed });
        }

        await runtime.EnsureReplicasAsync(Ghost("vm-test", id), 2);

        await using var second = Build(clock, store, runtime);
        await second.GetRequiredService<IOrchestrationVm>().StartAsync();

        Assert.DoesNotContain(runtime.Snapshot(), i => i.DeploymentId == id);
    }

    private static WorkloadRevision Ghost(string owner, string deploymentId) => new()
    {
        OwnerId = owner,
        DeploymentId = deploymentId,
        DeploymentName = "ghost",
        AppId = "ghost",
        Environment = "dev",
        Revision = 1,
        Component = new ComponentSpec { Id = "c", Image = "x:1", Replicas = 2 },
    };

    [Fact]
    public async Task Destroyed_deployments_beyond_the_retention_are_trimmed_from_the_store_on_start()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryDeploymentStore();
        using var runtime = new InMemoryWorkloadRuntime(timeProvider: clock);
        var ids = new List<string>();
        await using (var first = Build(clock, store, runtime, retained: 10))
        {
            var vm = first.GetRequiredService<IOrchestrationVm>();
            for (var i = 0; i < 3; i++)
            {
                var id = await vm.DeployAsync(Specs.Web(replicas: 1, name: $"old-{i}"));
                await vm.WaitUntilSettledAsync(id, TestHost.Timeout());
                clock.Advance(TimeSpan.FromMinutes(1));
                await vm.DestroyAsync(id);
                ids.Add(id);
            }
        }

        Assert.Equal(3, (await store.ListAsync()).Count);

        await using var second = Build(clock, store, runtime, retained: 1);
        await second.GetRequiredService<IOrchestrationVm>().StartAsync();

        var left = Assert.Single(await store.ListAsync());
        Assert.Equal(ids[2], left.Id);
    }

    [Fact]
    public async Task A_generic_host_starts_and_stops_the_orchestrator()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOrchestration().AddInMemoryRuntime();
        using var host = builder.Build();

        await host.StartAsync(TestHost.Timeout());
        var vm = host.Services.GetRequiredService<IOrchestrationVm>();
        var running = await vm.GetStateAsync();
        await host.StopAsync(TestHost.Timeout());
        var stopped = await vm.GetStateAsync();

        Assert.Equal(VmStatus.Running, running.Status);
        Assert.Equal(VmStatus.Stopped, stopped.Status);
    }

    [Fact]
    public async Task The_meter_reports_active_deployments_and_rollout_outcomes()
    {
        var measurements = new List<(string, double, string?)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OrchestrationTelemetryNames.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i.Name, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i.Name, v, tags));
        listener.Start();

        await using var host = new TestHost(o => o.Capacity = new ResourceRequirements { CpuCores = 4, MemoryMb = 4096 });
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        await host.SettleAsync(id);
        listener.RecordObservableInstruments();

        lock (measurements)
        {
            Assert.Contains(measurements, m => m.Item1 == OrchestrationTelemetryNames.DeploymentsActive && m.Item2 == 1);
            Assert.Contains(measurements, m => m.Item1 == OrchestrationTelemetryNames.DeploymentsCompleted && m.Item3 == "succeeded");
            Assert.Contains(measurements, m => m.Item1 == OrchestrationTelemetryNames.DeploymentDuration);
            Assert.Contains(measurements, m => m.Item1 == OrchestrationTelemetryNames.StepDuration);
            Assert.Contains(measurements, m => m.Item1 == OrchestrationTelemetryNames.ResourceUtilization && m.Item3 == "cpu" && Math.Abs(m.Item2 - 0.25) < 1e-9);
            Assert.Contains(measurements, m => m.Item1 == OrchestrationTelemetryNames.DeploymentSuccessRate && m.Item2 == 1);
        }

        void Record(string name, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? tag = null;
            foreach (var t in tags)
            {
                if (t.Key is "outcome" or "resource")
                {
                    tag = t.Value as string;
                }
            }

            lock (measurements)
            {
                measurements.Add((name, value, tag));
            }
        }
    }

    private static ServiceProvider Build(ManualTimeProvider clock, IDeploymentStore store, InMemoryWorkloadRuntime runtime, int retained = 100, IAuditSink? audit = null)
    {
        // The runtime outlives each orchestrator, as a real engine does: registered as an instance, so a container
        // that is disposed does not dispose it.
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = "vm-test";
                o.DestroyedDeploymentsRetained = retained;
            })
            .UseTimeProvider(clock)
            .UseDeploymentStore(store)
            .UseAuditSink(audit ?? new InMemoryAuditSink());
        services.AddSingleton<IWorkloadRuntime>(runtime);
        return services.BuildServiceProvider();
    }
}
