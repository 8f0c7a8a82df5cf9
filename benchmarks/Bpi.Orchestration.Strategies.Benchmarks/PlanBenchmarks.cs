using BenchmarkDotNet.Attributes;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Rolling;

namespace Bpi.Orchestration.Strategies.Benchmarks;

/// <summary>How long it takes to compile a rollout into a plan (a dry run), and what it allocates.</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class PlanBenchmarks
{
    private RolloutContext _rolling = null!;
    private RolloutContext _canary = null!;
    private RolloutContext _blueGreen = null!;
    private readonly RollingStrategy _rollingStrategy = new();
    private readonly CanaryStrategy _canaryStrategy = new();
    private readonly BlueGreenStrategy _blueGreenStrategy = new();

    [Params(10, 100)]
    public int Replicas { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var analysis = new AnalysisSpec { Metrics = [new MetricSpec { Name = "ok", Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate), SuccessCondition = MetricCondition.AtLeast(0.99) }] };
        _rolling = Context(new RollingStrategySpec());
        _canary = Context(new CanaryStrategySpec { StepWeight = 10, MaxWeight = 90, Analysis = analysis });
        _blueGreen = Context(new BlueGreenStrategySpec { PrePromotionAnalysis = analysis, TrafficSteps = [new TrafficSwitchStep(25), new TrafficSwitchStep(50), new TrafficSwitchStep(100)] });
    }

    [Benchmark]
    public RolloutPlan Rolling() => _rollingStrategy.Plan(_rolling);

    [Benchmark]
    public RolloutPlan RollingRollbackFromTheMiddle() => _rollingStrategy.PlanRollback(_rolling, Replicas);

    [Benchmark]
    public RolloutPlan Canary() => _canaryStrategy.Plan(_canary);

    [Benchmark]
    public RolloutPlan BlueGreen() => _blueGreenStrategy.Plan(_blueGreen);

    private RolloutContext Context(StrategySpec strategy)
    {
        DeploymentSpec Spec(string image) => new()
        {
            Name = "web",
            AppId = "shop",
            Strategy = strategy,
            Components =
            [
                new ComponentSpec { Id = "db", Image = "db:1", Replicas = 1 },
                new ComponentSpec { Id = "api", Image = image, Replicas = Replicas, DependsOn = ["db"], Ports = [new PortSpec { ContainerPort = 8080 }] },
                new ComponentSpec { Id = "web", Image = image, Replicas = Replicas, DependsOn = ["api"], Ports = [new PortSpec { ContainerPort = 80 }] },
            ],
        };

        return new RolloutContext("web-1", new RevisionSpec(1, Spec("app:1")), new RevisionSpec(2, Spec("app:2")), HasTrafficRouter: true);
    }
}
