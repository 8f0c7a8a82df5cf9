using Bpi.Orchestration;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Canary;

namespace Consumer.Deployer;

/// <summary>How the consumer's "web" service is rolled out: what its deployer runs and its tests pin.</summary>
public static class ServicePolicy
{
    /// <summary>A canary: 25 % of traffic, a success-rate analysis (at least 99 %), a timed pause, then 50 % and promotion.</summary>
    /// <param name="image">The image of the new version.</param>
    /// <param name="analysisInterval">How far apart the analysis' measurements are.</param>
    /// <param name="pause">How long the canary holds at 25 % after its analysis.</param>
    public static DeploymentSpec Canary(string image, TimeSpan analysisInterval, TimeSpan pause)
    {
        var successRate = new AnalysisSpec
        {
            Name = "success-rate",
            Metrics =
            [
                new MetricSpec
                {
                    Name = "success-rate",
                    Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 200 },
                    Interval = analysisInterval,
                    Count = 3,
                    SuccessCondition = MetricCondition.AtLeast(0.99),
                    FailureCondition = MetricCondition.Below(0.95),
                },
            ],
        };
        return new DeploymentSpec
        {
            Name = "consumer-web",
            AppId = "consumer",
            Environment = "ci",
            Components =
            [
                new ComponentSpec
                {
                    Id = "web",
                    Image = image,
                    Replicas = 4,
                    Ports = [new PortSpec { ContainerPort = 8080 }],
                },
            ],
            Strategy = new CanaryStrategySpec
            {
                Steps =
                [
                    new CanaryStep.SetWeight(25), new CanaryStep.Analyze(successRate), new CanaryStep.Pause(pause),
                    new CanaryStep.SetWeight(50), new CanaryStep.Analyze(successRate),
                ],
            },
            Rollback = new RollbackSettings { Automatic = true },
        };
    }
}
