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

    [Fact]
    public void Memory_target_tolerance_and_scaling_rules_are_checked_every_problem_listed()
    {
        var rules = new AutoscalingRules
        {
            StabilizationWindow = TimeSpan.FromSeconds(-1),
            SelectPolicy = (AutoscalingSelectPolicy)7,
            Policies = [new AutoscalingPolicy(AutoscalingPolicyType.Pods, 0, TimeSpan.Zero)],
        };

        var errors = With(new AutoscalingSpec { MaxReplicas = 3, TargetMemoryUtilizationPercent = 0, Tolerance = 2, ScaleDown = rules }).Validate();

        Assert.Equal(
            [
                "components[0] (web).autoscaling.targetMemoryUtilizationPercent: 0 is out of range; use 1 to 1000 (percent of the memory each instance requests).",
                "components[0] (web).autoscaling.tolerance: 2 is out of range; use 0 to 1 (0.1 ignores changes of utilisation within 10 % of the target).",
                "components[0] (web).autoscaling.scaleDown.stabilizationWindow: -00:00:01 is out of range; use 0 to 1 hour.",
                "components[0] (web).autoscaling.scaleDown.selectPolicy: 7 is not a select policy; use Max, Min or Disabled.",
                "components[0] (web).autoscaling.scaleDown.policies[0].value: 0 is less than 1; allow a change of at least one instance (or percent) per period.",
                "components[0] (web).autoscaling.scaleDown.policies[0].period: 00:00:00 is out of range; use 1 second to 30 minutes.",
            ],
            errors);
    }

    [Fact]
    public void Memory_targets_and_scaling_rules_survive_the_stores_json()
    {
        var spec = With(new AutoscalingSpec
        {
            MaxReplicas = 5,
            TargetMemoryUtilizationPercent = 70,
            Tolerance = 0.2,
            ScaleUp = new AutoscalingRules
            {
                StabilizationWindow = TimeSpan.FromSeconds(30),
                SelectPolicy = AutoscalingSelectPolicy.Min,
                Policies = [new AutoscalingPolicy(AutoscalingPolicyType.Pods, 2, TimeSpan.FromMinutes(1))],
            },
            ScaleDown = AutoscalingRules.DefaultScaleDown with { SelectPolicy = AutoscalingSelectPolicy.Disabled },
        });

        var read = System.Text.Json.JsonSerializer.Deserialize<DeploymentSpec>(System.Text.Json.JsonSerializer.Serialize(spec, Bpi.Orchestration.State.DeploymentJson.Options), Bpi.Orchestration.State.DeploymentJson.Options)!;

        Assert.Equal(spec.Components[0].Autoscaling, read.Components[0].Autoscaling);
        Assert.Null(read.Components[0].Autoscaling!.EffectiveCpuUtilizationPercent);
    }
}
