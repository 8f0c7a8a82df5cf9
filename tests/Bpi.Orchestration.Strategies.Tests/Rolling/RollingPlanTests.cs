using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Rolling;
using Bpi.Orchestration.Strategies.Traffic;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Rolling;

public sealed class RollingPlanTests
{
    [Theory]
    [InlineData("25%", "25%", 10, 3, 2)]
    [InlineData("25%", "25%", 3, 1, 0)]
    [InlineData("0", "0%", 3, 0, 1)]
    [InlineData("0%", "10%", 5, 0, 1)]
    [InlineData("2", "1", 10, 2, 1)]
    [InlineData("100%", "100%", 4, 4, 4)]
    public void Surge_rounds_up_unavailable_rounds_down_and_both_zero_makes_unavailable_one(string surge, string unavailable, int replicas, int expectedSurge, int expectedUnavailable)
    {
        var spec = new RollingStrategySpec { MaxSurge = IntOrPercent.Parse(surge), MaxUnavailable = IntOrPercent.Parse(unavailable) };

        Assert.Equal((expectedSurge, expectedUnavailable), spec.Resolve(replicas));
    }

    [Fact]
    public void Validation_lists_every_problem_of_the_rolling_settings()
    {
        var spec = Specs.Web(strategy: new RollingStrategySpec
        {
            MaxSurge = IntOrPercent.Percent(150),
            MaxUnavailable = IntOrPercent.Count(-1),
            BatchSize = 0,
            PauseBetweenBatches = TimeSpan.FromSeconds(-1),
        });

        var errors = spec.Validate();

        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.Contains("maxSurge: 150% must be at most 100%", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("maxUnavailable: -1 must not be negative", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("batchSize: 0 must be at least 1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("pauseBetweenBatches", StringComparison.Ordinal));
        Assert.All(errors, e => Assert.StartsWith("strategy (rolling): ", e, StringComparison.Ordinal));
    }

    [Fact]
    public void A_plan_of_three_replicas_with_one_surge_and_no_unavailability_replaces_one_instance_per_batch()
    {
        var strategy = new RollingStrategySpec { MaxSurge = 1, MaxUnavailable = 0, PauseBetweenBatches = TimeSpan.FromSeconds(30) };
        var plan = new RollingStrategy().Plan(Context(3, 3, strategy));

        var lines = plan.Steps.Select(s => s.Describe()).ToList();
        Assert.Equal(
            [
                "scale web revision 2 to 1",
                "wait for 1 ready instance of web revision 2",
                "scale web revision 1 to 2",
                "route web by ready instances: revision 2 ~33%, revision 1 ~67%",
                "pause for 00:00:30",
                "scale web revision 2 to 2",
                "wait for 2 ready instances of web revision 2",
                "scale web revision 1 to 1",
                "route web by ready instances: revision 2 ~67%, revision 1 ~33%",
                "pause for 00:00:30",
                "scale web revision 2 to 3",
                "wait for 3 ready instances of web revision 2",
                "scale web revision 1 to 0",
                "route web: revision 2 100%",
            ],
            lines);
    }

    [Fact]
    public void A_batch_size_limits_how_many_instances_change_per_batch()
    {
        var strategy = new RollingStrategySpec { MaxSurge = IntOrPercent.Percent(100), MaxUnavailable = 0, BatchSize = 2 };
        var plan = new RollingStrategy().Plan(Context(5, 5, strategy));

        var newScales = plan.Steps.OfType<ScaleRevisionStep>().Where(s => s.Revision == 2).Select(s => s.Replicas);
        var oldScales = plan.Steps.OfType<ScaleRevisionStep>().Where(s => s.Revision == 1).Select(s => s.Replicas);
        Assert.Equal([2, 4, 5], newScales);
        Assert.Equal([3, 1, 0], oldScales);
    }

    [Fact]
    public void The_rollback_from_the_middle_walks_back_from_where_the_rollout_stopped()
    {
        var strategy = new RollingStrategySpec { MaxSurge = 1, MaxUnavailable = 0 };
        var context = Context(3, 3, strategy);
        var plan = new RollingStrategy().Plan(context);
        var failedAt = plan.Steps.ToList().FindIndex(s => s is AwaitReadyStep { MinReady: 2 });

        var rollback = new RollingStrategy().PlanRollback(context, failedAt);

        // At the failure: 2 new (at most), 2 old. The walk back keeps at most 4 instances and ends with 3 old, 0 new.
        var counts = new Dictionary<int, int> { [1] = 2, [2] = 2 };
        foreach (var scale in rollback.Steps.OfType<ScaleRevisionStep>())
        {
            counts[scale.Revision] = scale.Replicas;
            Assert.True(counts[1] + counts[2] <= 4);
        }

        Assert.Equal(3, counts[1]);
        Assert.Equal(0, counts[2]);
        Assert.Equal(RolloutKind.Rollback, rollback.Kind);
        Assert.Equal(new Dictionary<int, int> { [1] = 100 }, Assert.IsType<SetTrafficStep>(rollback.Steps[^1]).Weights);
    }

    [Fact]
    public void A_first_deployment_brings_every_component_up_at_once()
    {
        var plan = new RollingStrategy().Plan(new RolloutContext("d", null, new RevisionSpec(1, Specs.Web(3, strategy: new RollingStrategySpec())), true));

        Assert.Equal(["scale", "await-ready", "set-traffic"], plan.Steps.Select(s => s.Kind));
    }

    [Fact]
    public void Proportional_weights_always_add_up_to_one_hundred()
    {
        for (var a = 0; a <= 7; a++)
        {
            for (var b = 0; b <= 7; b++)
            {
                if (a + b == 0)
                {
                    continue;
                }

                var weights = BalanceTrafficHandler.Proportional([(2, a), (1, b)], a + b);
                Assert.Equal(100, weights.Values.Sum());
                Assert.Equal(a > 0, weights.ContainsKey(2));
            }
        }
    }

    private static RolloutContext Context(int oldReplicas, int newReplicas, RollingStrategySpec strategy)
        => new("d", new RevisionSpec(1, Specs.Web(oldReplicas, "web:1", strategy)), new RevisionSpec(2, Specs.Web(newReplicas, "web:2", strategy)), true);
}
