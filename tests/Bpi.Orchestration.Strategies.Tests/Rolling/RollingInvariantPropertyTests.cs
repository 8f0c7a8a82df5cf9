using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Rolling;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Rolling;

public sealed class RollingInvariantPropertyTests
{
    [Fact]
    public void A_rolling_update_keeps_availability_and_surge_bounds_and_ends_all_new_or_all_old()
    {
        var amount = Gen.OneOf(Gen.Choose(0, 3).Select(IntOrPercent.Count), Gen.Choose(0, 100).Select(IntOrPercent.Percent));
        var gen =
            from replicas in Gen.Choose(1, 7)
            from surge in amount
            from unavailable in amount
            from batch in Gen.OneOf(Gen.Constant((int?)null), Gen.Choose(1, 3).Select(b => (int?)b))
            from failAt in Gen.OneOf(Gen.Constant((int?)null), Gen.Choose(0, 8).Select(f => (int?)f))
            select (replicas, surge, unavailable, batch, failAt);

        Prop.ForAll(gen.ToArbitrary(), input =>
        {
            var (replicas, surge, unavailable, batch, failAt) = input;
            if (surge.Value == 0 && unavailable.Value == 0)
            {
                unavailable = IntOrPercent.Count(1); // the spec refuses both 0; Resolve covers the rounding case
            }

            var strategy = new RollingStrategySpec { MaxSurge = surge, MaxUnavailable = unavailable, BatchSize = batch };
            Check(replicas, strategy, failAt).GetAwaiter().GetResult();
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150));
    }

    private static async Task Check(int replicas, RollingStrategySpec strategy, int? failAt)
    {
        await using var host = new TestHost();
        var (surge, unavailable) = strategy.Resolve(replicas);
        var id = await host.Vm.DeployAsync(Specs.Web(replicas, "web:1", strategy));
        Assert.Equal(DeploymentState.Running, (await host.SettleAsync(id)).State);

        var created = 0;
        if (failAt is { } k)
        {
            host.Runtime.Faults.FailStart(r => r.Revision == 2 && Interlocked.Increment(ref created) > k, exitCode: 2, message: "boom");
        }

        host.Recorder.Recording = true;
        await host.Vm.UpdateAsync(id, Specs.Web(replicas, "web:2", strategy));
        var status = await host.SettleAsync(id);

        var context = $"replicas {replicas}, surge {strategy.MaxSurge}->{surge}, unavailable {strategy.MaxUnavailable}->{unavailable}, batch {strategy.BatchSize}, failAt {failAt}";
        foreach (var snapshot in host.Recorder.Snapshots)
        {
            var available = snapshot.Count(i => i.State == InstanceState.Running && i.Health != InstanceHealth.Unhealthy);
            Assert.True(snapshot.Count <= replicas + surge, $"{snapshot.Count} instances > {replicas} + {surge} ({context})");
            Assert.True(available >= replicas - unavailable, $"{available} available < {replicas} - {unavailable} ({context})");
        }

        var final = host.Runtime.Snapshot();
        Assert.Equal(replicas, final.Count);
        Assert.True(final.All(i => i.State == InstanceState.Running), context);
        var revisions = final.Select(i => i.Revision).Distinct().ToList();
        var revision = Assert.Single(revisions);
        if (status.State == DeploymentState.Running)
        {
            Assert.Equal(2, revision);
        }
        else
        {
            Assert.Equal(DeploymentState.RolledBack, status.State);
            Assert.Equal(1, revision);
            Assert.NotNull(failAt);
        }

        if (failAt is null || failAt >= replicas)
        {
            Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message} ({context})");
        }
    }
}
