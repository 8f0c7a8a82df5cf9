using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Rollout.Recreate;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Bpi.Orchestration.Tests.Rollout;

public sealed class RecreatePlanTests
{
    [Fact]
    public void A_recreate_plan_stops_every_old_instance_before_starting_a_new_one_and_ends_at_the_desired_counts()
    {
        var gen = Gen.Choose(0, 10).Two().Zip(Gen.Choose(0, 10).Two());
        Prop.ForAll(gen.ToArbitrary(), input =>
        {
            var ((oldA, oldB), (newA, newB)) = input;
            var stable = new RevisionSpec(1, Spec(oldA, oldB));
            var desired = new RevisionSpec(2, Spec(newA, newB));
            var plan = new RecreateStrategy().Plan(new RolloutContext("d", stable, desired, HasTrafficRouter: true));

            var counts = new Dictionary<(string, int), int> { [("a", 1)] = oldA, [("b", 1)] = oldB };
            var sawNew = false;
            foreach (var step in plan.Steps.OfType<ScaleRevisionStep>())
            {
                if (step.Revision == 2)
                {
                    sawNew = true;
                }
                else if (sawNew)
                {
                    return false; // an old revision touched after the new one started
                }

                counts[(step.ComponentId, step.Revision)] = step.Replicas;
            }

            // b depends on a: a comes up first, and b comes down first.
            var scales = plan.Steps.OfType<ScaleRevisionStep>().ToList();
            var aFirst = scales.FindIndex(s => s is { ComponentId: "a", Revision: 2 }) < scales.FindIndex(s => s is { ComponentId: "b", Revision: 2 });
            var bDownFirst = scales.FindIndex(s => s is { ComponentId: "b", Revision: 1 }) < scales.FindIndex(s => s is { ComponentId: "a", Revision: 1 });
            return counts[("a", 1)] == 0 && counts[("b", 1)] == 0 && counts[("a", 2)] == newA && counts[("b", 2)] == newB && aFirst && bDownFirst;
        }).Check(Config.QuickThrowOnFailure);
    }

    [Fact]
    public void The_rollback_of_a_first_deployment_removes_everything_it_started()
    {
        var desired = new RevisionSpec(1, Spec(3, 2));
        var plan = new RecreateStrategy().PlanRollback(new RolloutContext("d", null, desired, true), failedAtStep: 2);

        Assert.Equal(RolloutKind.Rollback, plan.Kind);
        Assert.Equal(["scale b revision 1 to 0", "scale a revision 1 to 0", "remove the route of b", "remove the route of a"], plan.Steps.Select(s => s.Describe()));
    }

    private static DeploymentSpec Spec(int a, int b) => new()
    {
        Name = "p",
        AppId = "p",
        Components =
        [
            new ComponentSpec { Id = "b", Image = "b:1", Replicas = b, DependsOn = ["a"] },
            new ComponentSpec { Id = "a", Image = "a:1", Replicas = a },
        ],
    };
}
