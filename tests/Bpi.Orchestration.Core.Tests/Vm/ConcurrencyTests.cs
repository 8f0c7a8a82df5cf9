using System.Diagnostics;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task With_MaxConcurrentDeployments_2_and_5_submitted_at_most_2_run_at_once_and_all_5_finish()
    {
        await using var host = new TestHost(o => o.MaxConcurrentDeployments = 2, r => r.StartDelay = TimeSpan.FromSeconds(3));
        var running = new HashSet<string>();
        var peak = 0;
        var twoRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var events = host.Vm.WatchAsync(cancellationToken: stop.Token);
        var watcher = Task.Run(async () =>
        {
            await foreach (var e in events)
            {
                if (e.Kind != DeploymentEventKind.StateChanged)
                {
                    continue;
                }

                if (e.State is DeploymentState.Deploying or DeploymentState.Paused)
                {
                    running.Add(e.DeploymentId);
                }
                else
                {
                    running.Remove(e.DeploymentId);
                }

                peak = Math.Max(peak, running.Count);
                if (running.Count == 2)
                {
                    twoRunning.TrySetResult();
                }
            }
        });

        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await host.Vm.DeployAsync(Specs.Web(replicas: 1, name: $"web-{i}")));
        }

        // Nothing can finish before the clock moves, so both slots fill before the test drives the clock.
        await twoRunning.Task.WaitAsync(TestHost.Timeout());

        var all = Task.WhenAll(ids.Select(id => host.Vm.WaitUntilSettledAsync(id, TestHost.Timeout())));
        var statuses = await host.DriveAsync(all);
        await stop.CancelAsync();
        await watcher;

        Assert.All(statuses, s => Assert.Equal(DeploymentState.Running, s.State));
        Assert.Equal(2, host.Queue.PeakRunning);
        Assert.InRange(peak, 1, 2);
    }

    [Fact]
    public async Task Queued_deployments_start_in_the_order_they_were_submitted()
    {
        await using var host = new TestHost(o => o.MaxConcurrentDeployments = 1);
        var started = new List<string>();
        using var stop = new CancellationTokenSource();
        var events = host.Vm.WatchAsync(cancellationToken: stop.Token);
        // The watcher reads until it has seen every start: cancelling the stream once the deployments settled would end
        // it before a watcher the thread pool ran late had read the buffered events (under load it saw none of them).
        var watcher = Task.Run(async () =>
        {
            await foreach (var e in events)
            {
                if (e is { Kind: DeploymentEventKind.StateChanged, State: DeploymentState.Deploying })
                {
                    started.Add(e.DeploymentId);
                    if (started.Count == 6)
                    {
                        return;
                    }
                }
            }
        });

        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await host.Vm.DeployAsync(Specs.Web(replicas: 1, name: $"svc-{i}")));
        }

        await Task.WhenAll(ids.Select(id => host.Vm.WaitUntilSettledAsync(id, TestHost.Timeout())));
        await watcher.WaitAsync(TestHost.Timeout());
        await stop.CancelAsync();

        Assert.Equal(ids, started);
    }

    [Fact]
    public async Task A_rollout_started_on_the_callers_thread_carries_none_of_the_callers_ambient_state()
    {
        var plans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == Telemetry.OrchestrationTelemetryNames.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                // The listener hears every orchestrator in the process (tests run in parallel): keep this test's plans.
                if (activity.OperationName.StartsWith("bpi.orchestration.plan", StringComparison.Ordinal) && activity.GetTagItem("deployment.name") as string == "ambient-check")
                {
                    lock (plans)
                    {
                        plans.Add(activity);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var callerSource = new ActivitySource("caller-under-test");
        using var callerListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "caller-under-test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(callerListener);

        await using var host = new TestHost();
        string id;
        using (callerSource.StartActivity("http request"))
        using (OrchestrationActor.BeginScope(new OrchestrationActor { Id = "alice" }))
        {
            id = await host.Vm.DeployAsync(Specs.Web(replicas: 2, name: "ambient-check"));
        }

        // The in-memory runtime answers at once, so the whole rollout ran inside DeployAsync, on the test's thread.
        Assert.Equal(DeploymentState.Running, (await host.Vm.GetStatusAsync(id)).State);
        var plan = Assert.Single(plans);
        Assert.Null(plan.Parent);
        Assert.Equal(default, plan.ParentSpanId);
        Assert.Contains(host.Audit.Snapshot(), e => e is { Action: "deployment.deploy", Actor: "alice" });
        Assert.DoesNotContain(host.Audit.Snapshot(), e => e.Actor == "alice" && e.Action.StartsWith("rollout.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stopping_leaves_queued_rollouts_queued_in_the_store_and_the_next_orchestrator_runs_them()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryDeploymentStore();
        using var runtime = new InMemoryWorkloadRuntime(Microsoft.Extensions.Options.Options.Create(new InMemoryRuntimeOptions { StartDelay = TimeSpan.FromSeconds(5) }), clock);
        string first, second;
        await using (var provider = Build(clock, store, runtime))
        {
            var vm = provider.GetRequiredService<IOrchestrationVm>();
            first = await vm.DeployAsync(Specs.Web(replicas: 1, name: "first"));
            second = await vm.DeployAsync(Specs.Web(replicas: 1, name: "second"));
            Assert.Equal(DeploymentState.Deploying, (await vm.GetStatusAsync(first)).State);
            Assert.Equal(DeploymentState.Queued, (await vm.GetStatusAsync(second)).State);
            await vm.StopAsync(TestHost.Timeout());
        }

        Assert.Equal(DeploymentState.Queued, (await store.GetAsync(second))!.State);

        await using var next = Build(clock, store, runtime);
        var resumed = next.GetRequiredService<IOrchestrationVm>();
        await resumed.StartAsync();
        var settled = Task.WhenAll(resumed.WaitUntilSettledAsync(first, TestHost.Timeout()), resumed.WaitUntilSettledAsync(second, TestHost.Timeout()));

        Assert.All(await clock.RunUntilAsync(settled, TimeSpan.FromSeconds(5), cancellationToken: TestHost.Timeout()), s => Assert.Equal(DeploymentState.Running, s.State));
    }

    [Fact]
    public async Task A_thousand_concurrent_deployments_finish_with_consistent_ledger_totals()
    {
        var random = new Random(1234);
        await using var host = new TestHost(o =>
        {
            o.MaxConcurrentDeployments = 64;
            o.DestroyedDeploymentsRetained = 1000;
            o.Capacity = new ResourceRequirements { CpuCores = 100_000, MemoryMb = 100_000_000 };
        });
        host.Runtime.Faults.FailStart(r => r.DeploymentName.EndsWith('7'));

        var specs = Enumerable.Range(0, 1000).Select(i => Specs.Web(replicas: random.Next(1, 6), name: $"app-{i}")).ToList();
        var ids = await Task.WhenAll(specs.Select(s => Task.Run(() => host.Vm.DeployAsync(s))));
        var statuses = await Task.WhenAll(ids.Select(id => host.Vm.WaitUntilSettledAsync(id, TestHost.Timeout())));

        Assert.Equal(900, statuses.Count(s => s.State == DeploymentState.Running));
        Assert.Equal(100, statuses.Count(s => s.State == DeploymentState.Failed));
        AssertLedgerMatches(host, statuses);
        Assert.Equal(statuses.Where(s => s.State == DeploymentState.Running).Sum(s => s.Components[0].DesiredReplicas), host.Runtime.Snapshot().Count);

        // Destroy every other running deployment, concurrently, and check again.
        var destroyed = statuses.Where(s => s.State == DeploymentState.Running).Where((_, i) => i % 2 == 0).Select(s => s.Id).ToList();
        await Task.WhenAll(destroyed.Select(id => Task.Run(() => host.Vm.DestroyAsync(id))));
        var after = await Task.WhenAll(ids.Select(id => host.Vm.GetStatusAsync(id)));

        Assert.Equal(450, after.Count(s => s.State == DeploymentState.Destroyed));
        AssertLedgerMatches(host, after);
        Assert.Equal(450, host.Ledger.Count);
    }

    private static ServiceProvider Build(ManualTimeProvider clock, IDeploymentStore store, InMemoryWorkloadRuntime runtime)
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = "vm-test";
                o.MaxConcurrentDeployments = 1;
            })
            .UseTimeProvider(clock)
            .UseDeploymentStore(store);
        services.AddSingleton<IWorkloadRuntime>(runtime);
        return services.BuildServiceProvider();
    }

    private static void AssertLedgerMatches(TestHost host, IReadOnlyList<DeploymentStatus> statuses)
    {
        var expectedCpu = statuses.Where(s => s.State == DeploymentState.Running).Sum(s => s.Allocation.CpuCores);
        var expectedMemory = statuses.Where(s => s.State == DeploymentState.Running).Sum(s => s.Allocation.MemoryMb);
        Assert.All(statuses.Where(s => s.State is DeploymentState.Failed or DeploymentState.Destroyed), s => Assert.Equal(ResourceRequirements.None, s.Allocation));
        Assert.Equal(expectedCpu, host.Ledger.Allocated.CpuCores, 6);
        Assert.Equal(expectedMemory, host.Ledger.Allocated.MemoryMb);
    }
}
