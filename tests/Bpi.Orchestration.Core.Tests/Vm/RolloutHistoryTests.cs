using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

public sealed class RolloutHistoryTests
{
    [Fact]
    public async Task Each_ended_rollout_is_kept_with_who_asked_for_it_and_survives_a_restart_through_the_file_store()
    {
        var directory = Directory.CreateTempSubdirectory("bpi-history-").FullName;
        try
        {
            var clock = new ManualTimeProvider();
            using var runtime = new InMemoryWorkloadRuntime(timeProvider: clock);
            string id;
            await using (var first = Build(clock, new FileDeploymentStore(directory), runtime))
            {
                var vm = first.GetRequiredService<IOrchestrationVm>();
                using (OrchestrationActor.BeginScope(new OrchestrationActor { Id = "alice" }))
                {
                    id = await vm.DeployAsync(Specs.Web(replicas: 2));
                }

                await vm.WaitUntilSettledAsync(id, TestHost.Timeout());
                clock.Advance(TimeSpan.FromMinutes(5));
                using (OrchestrationActor.BeginScope(new OrchestrationActor { Id = "bob" }))
                {
                    await vm.ScaleAsync(id, 3);
                }

                await vm.WaitUntilSettledAsync(id, TestHost.Timeout());
                runtime.Faults.FailStart(r => r.Revision == 2);
                await vm.UpdateAsync(id, Specs.Web(replicas: 3, image: "web:2"));
                var failed = await vm.WaitUntilSettledAsync(id, TestHost.Timeout());
                Assert.Equal(DeploymentState.RolledBack, failed.State);
                await vm.StopAsync();
            }

            await using var second = Build(clock, new FileDeploymentStore(directory), runtime);
            var restarted = second.GetRequiredService<IOrchestrationVm>();
            await restarted.StartAsync();
            var history = await restarted.GetRolloutHistoryAsync(id);

            Assert.Equal([RolloutKind.Rollout, RolloutKind.Scale, RolloutKind.Rollout], history.Select(r => r.Kind));
            Assert.Equal(["alice", "bob", OrchestrationActor.System.Id], history.Select(r => r.RequestedBy));
            Assert.Equal([RolloutOutcome.Promoted, RolloutOutcome.Promoted, RolloutOutcome.RolledBack], history.Select(r => r.Outcome));
            Assert.Equal([1, 1, 2], history.Select(r => r.Revision));
            Assert.All(history, r => Assert.Equal("recreate", r.Strategy));
            Assert.All(history, r => Assert.True(r.Steps > 0));
            Assert.Equal(1, history[2].RollbackCount);
            Assert.Contains("revision 2", history[2].Reason, StringComparison.OrdinalIgnoreCase);
            Assert.True(history[1].RequestedAt - history[0].RequestedAt >= TimeSpan.FromMinutes(5));

            // Scales are not deployments for the DORA figures: one promoted, one rolled back.
            var dora = await restarted.GetDoraAsync("shop", "staging");
            Assert.Equal(2, dora.Rollouts);
            Assert.Equal(0.5, dora.ChangeFailureRate, 6);
            Assert.Null(dora.TimeToRestore); // nothing was promoted after the failure
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_history_keeps_only_the_newest_rollouts_up_to_the_limit()
    {
        await using var host = new TestHost(o => o.RolloutHistoryLimit = 3);
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 1));
        await host.SettleAsync(id);
        for (var replicas = 2; replicas <= 5; replicas++)
        {
            await host.Vm.ScaleAsync(id, replicas);
            await host.SettleAsync(id);
        }

        var history = await host.Vm.GetRolloutHistoryAsync(id);

        Assert.Equal(3, history.Count);
        Assert.All(history, r => Assert.Equal(RolloutKind.Scale, r.Kind));
        Assert.True(history[0].EndedAt <= history[1].EndedAt && history[1].EndedAt <= history[2].EndedAt);
    }

    [Fact]
    public async Task Bad_history_and_DORA_requests_are_refused_clearly()
    {
        await using var host = new TestHost();

        var missing = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.GetRolloutHistoryAsync("nope-1"));
        Assert.Equal(OrchestrationErrorKind.NotFound, missing.Kind);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => host.Vm.GetDoraAsync("shop", "staging", TimeSpan.Zero));
        var empty = await host.Vm.GetDoraAsync("shop", "staging");
        Assert.Equal(0, empty.Rollouts);
        Assert.True(double.IsNaN(empty.ChangeFailureRate));
    }

    [Fact]
    public void Options_that_cannot_work_are_refused_with_every_problem_listed()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
        {
            o.RolloutHistoryLimit = 0;
            o.DoraWindow = TimeSpan.Zero;
        }).AddInMemoryRuntime();
        using var provider = services.BuildServiceProvider();

        var problems = OptionsProblems.Of(Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IOrchestrationVm>()), typeof(OrchestrationOptions));

        Assert.Contains(problems, f => f.StartsWith("OrchestrationOptions.RolloutHistoryLimit: ", StringComparison.Ordinal));
        Assert.Contains(problems, f => f.StartsWith("OrchestrationOptions.DoraWindow: ", StringComparison.Ordinal));
    }

    private static ServiceProvider Build(ManualTimeProvider clock, IDeploymentStore store, InMemoryWorkloadRuntime runtime)
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "vm-history")
            .UseTimeProvider(clock)
            .UseDeploymentStore(store);
        services.AddSingleton<Runtime.IWorkloadRuntime>(runtime);
        return services.BuildServiceProvider();
    }
}
