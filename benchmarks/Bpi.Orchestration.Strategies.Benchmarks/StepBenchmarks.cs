using BenchmarkDotNet.Attributes;
using Bpi.Orchestration.Health;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Rollout.Steps;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Traffic;
using Bpi.Orchestration.Telemetry;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace Bpi.Orchestration.Strategies.Benchmarks;

/// <summary>One step executed by the rollout executor on the in-memory runtime and router (no VM around it).</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class StepBenchmarks
{
    private readonly Host _host = new();
    private InMemoryWorkloadRuntime _runtime = null!;
    private RolloutExecutor _executor = null!;
    private RolloutStepContext _context = null!;
    private RolloutPlan _scaleUp = null!;
    private RolloutPlan _scaleDown = null!;
    private RolloutPlan _balance = null!;
    private OrchestrationTelemetry _telemetry = null!;

    [GlobalSetup]
    public void Setup()
    {
        _runtime = new InMemoryWorkloadRuntime();
        var router = new InMemoryTrafficRouter(_runtime);
        _telemetry = new OrchestrationTelemetry(null, () => new ResourceUtilization(ResourceRequirements.None, null), () => null, () => []);
        _executor = new RolloutExecutor([new ScaleRevisionHandler(), new BalanceTrafficHandler()], TimeProvider.System, _telemetry);
        _context = new RolloutStepContext(_host, "vm-bench", _runtime, router, Array.Empty<IHealthProbe>(), TimeProvider.System, NullLogger.Instance, new RuntimeRetry(ResiliencePipeline.Empty));
        _scaleUp = Plan(new ScaleRevisionStep("web", 1, 4));
        _scaleDown = Plan(new ScaleRevisionStep("web", 1, 3));
        _balance = Plan(new BalanceTrafficStep("web", [2, 1]));
        _executor.RunAsync(_host, _context, _scaleUp, 0, CancellationToken.None).GetAwaiter().GetResult();
        _executor.RunAsync(_host, _context, Plan(new ScaleRevisionStep("web", 2, 2)), 0, CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _runtime.Dispose();
        _telemetry.Dispose();
    }

    /// <summary>Scale a revision by one instance and back: two executed steps per call.</summary>
    [Benchmark(OperationsPerInvoke = 2)]
    public async Task ScaleStep()
    {
        await _executor.RunAsync(_host, _context, _scaleDown, 0, CancellationToken.None).ConfigureAwait(false);
        await _executor.RunAsync(_host, _context, _scaleUp, 0, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Re-weight a route by ready instances of two revisions through the in-memory router.</summary>
    [Benchmark]
    public Task BalanceTrafficStep() => _executor.RunAsync(_host, _context, _balance, 0, CancellationToken.None);

    private static RolloutPlan Plan(RolloutStep step) => new("web", RolloutKind.Rollout, "bench", 1, 2, [step]);

    /// <summary>The VM's side, reduced to what a step needs.</summary>
    private sealed class Host : IRolloutHost, IRolloutObserver
    {
        private readonly RevisionSpec[] _revisions =
        [
            new(1, Spec("web:1")),
            new(2, Spec("web:2")),
        ];

        public string DeploymentId => "web-bench";

        public string RequestedBy => "bench";

        public RolloutControl Control { get; } = new();

        public RevisionSpec GetRevision(int number) => _revisions[number - 1];

        public void ReportProgress(string message)
        {
        }

        public void ReportReadiness(AwaitReadyStep step, int ready)
        {
        }

        public void RecordTraffic(string componentId, IReadOnlyDictionary<int, int> weights, bool approximated)
        {
        }

        public void SetWaiting(bool waiting, string reason)
        {
        }

        // One instance owns everything in the benchmark.
        public ValueTask EnsureOwnedAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnPlanStartedAsync(RolloutPlan plan, int startIndex, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnStepStartedAsync(RolloutPlan plan, int index, DateTimeOffset? at, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<DateTimeOffset> OnStepCompletedAsync(RolloutPlan plan, int index, CancellationToken cancellationToken) => ValueTask.FromResult(DateTimeOffset.UnixEpoch);

        public ValueTask OnStepFailedAsync(RolloutPlan plan, int index, OrchestrationException error, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnPlanCompletedAsync(RolloutPlan plan, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        private static DeploymentSpec Spec(string image) => new()
        {
            Name = "web",
            AppId = "shop",
            Components = [new ComponentSpec { Id = "web", Image = image, Replicas = 3, Ports = [new PortSpec { ContainerPort = 80 }] }],
        };
    }
}
