using Xunit;

namespace Bpi.Orchestration.Tests.Model;

public sealed class AutoscalingValidationTests
{
    private static DeploymentSpec With(AutoscalingSpec autoscaling, int replicas = 2) => new()
    {
        Name = "web",
        AppId = "shop",
        Components = [new ComponentSpec { Id = "web", Image = "web:1", Replicas = replicas, Autoscaling = autoscaling }],
    };

    [Fact]
    public void A_sound_autoscaling_range_is_valid()
    {
        Assert.Empty(With(new AutoscalingSpec { MinReplicas = 2, MaxReplicas = 10, TargetCpuUtilizationPercent = 150 }).Validate());
        Assert.Empty(With(new AutoscalingSpec { MaxReplicas = 2 }, replicas: 1).Validate());
    }

    [Fact]
    public void Autoscaling_survives_the_stores_json()
    {
        var spec = With(new AutoscalingSpec { MinReplicas = 2, MaxReplicas = 5, TargetCpuUtilizationPercent = 65 });

        var read = System.Text.Json.JsonSerializer.Deserialize<DeploymentSpec>(System.Text.Json.JsonSerializer.Serialize(spec, Bpi.Orchestration.State.DeploymentJson.Options), Bpi.Orchestration.State.DeploymentJson.Options)!;

        Assert.Equal(spec.Components[0].Autoscaling, read.Components[0].Autoscaling);
    }

    [Fact]
    public void Every_problem_of_an_autoscaling_spec_is_listed()
    {
        var errors = With(new AutoscalingSpec { MinReplicas = 0, MaxReplicas = 20_000, TargetCpuUtilizationPercent = 0 }, replicas: 3).Validate();

        Assert.Equal(
            [
                "components[0] (web).autoscaling.minReplicas: 0 is out of range; use 1 to 10000.",
                "components[0] (web).autoscaling.maxReplicas: 20000 is out of range; use 1 to 10000.",
                "components[0] (web).autoscaling.targetCpuUtilizationPercent: 0 is out of range; use 1 to 1000 (percent of the CPU each instance requests).",
            ],
            errors);
    }

    [Fact]
    public void A_maximum_below_the_minimum_and_replicas_outside_the_range_are_refused()
    {
        var errors = With(new AutoscalingSpec { MinReplicas = 4, MaxReplicas = 3 }, replicas: 2).Validate();

        Assert.Equal(
            [
                "components[0] (web).autoscaling.maxReplicas: 3 is less than minReplicas (4); use at least 4.",
                "components[0] (web).autoscaling: replicas (2) is outside minReplicas..maxReplicas (4..3); a rollout starts the new revision with replicas, so keep it within the autoscaling range.",
            ],
            errors);
    }
}
