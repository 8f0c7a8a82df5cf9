using Bpi.Orchestration.Autoscaling;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.TestUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Bpi.Orchestration.Tests.Autoscaling;

/// <summary>
/// What the runtime can do decides who autoscales: a runtime that scales itself (<see cref="IWorkloadSelfScaling"/>) is
/// left to it; on one that neither scales itself nor reports utilisation, admission refuses CPU and memory targets and
/// custom metrics still scale.
/// </summary>
public sealed class RuntimeCapabilityAutoscalingTests
{
    private const string Advice = "use a runtime that reports utilisation (Docker, local processes, in-memory) or one that autoscales itself (Kubernetes), "
        + "or scale on custom metrics only: remove the utilisation targets and list the metrics in autoscaling.metrics, measured by a registered IAutoscalingMetricSource (.AddStrategies() adapts every IMetricProvider, such as Prometheus).";

    private static readonly TimeSpan Interval = new OrchestrationOptions().AutoscalingInterval;

    static RuntimeCapabilityAutoscalingTests() => AutoscalingQueryTypes.Register<TestQuery>("test");

    /// <summary>An orchestrator whose runtime is <paramref name="wrap"/> over the in-memory runtime, with <paramref name="source"/> registered.</summary>
    private static TestHost Host(TestMetricSource source, Func<InMemoryWorkloadRuntime, IWorkloadRuntime> wrap, CapturingLoggerProvider? logs = null) => new(extra: b =>
    {
        b.Services.AddSingleton<IAutoscalingMetricSource>(source);
        b.Services.Replace(ServiceDescriptor.Singleton(sp => wrap(sp.GetRequiredService<InMemoryWorkloadRuntime>())));
        if (logs is not null)
        {
            b.Services.AddLogging(l => l.AddProvider(logs));
        }
    });

    [Fact]
    public async Task A_runtime_that_scales_itself_is_left_to_it_the_orchestrator_neither_measures_nor_scales()
    {
        var source = new TestMetricSource();
        var logs = new CapturingLoggerProvider();
        SelfScalingWorkloadRuntime? runtime = null;
        await using var host = Host(source, inner => runtime = new SelfScalingWorkloadRuntime(inner), logs);
        var spec = AutoscalingLoopTests.Autoscaled(replicas: 1);
        spec = spec with { Components = [spec.Components[0] with { Autoscaling = spec.Components[0].Autoscaling! with { Metrics = [CustomMetricAutoscalingTests.Average("rps", 100)] } }] };
        var id = await host.Vm.DeployAsync(spec);
        await host.SettleAsync(id);

        // CPU at 200 % of its 50 % target and 1000 requests per second against 100 per instance: the orchestrator would
        // scale to 4, then 5; the runtime (which could even be measured) does its own scaling instead.
        host.Runtime.SetUtilization(id, "web", cpuCores: 1.0);
        source.Set("rps", 1000);
        for (var i = 0; i < 4; i++)
        {
            host.Clock.Advance(Interval);
        }

        var status = await host.SettleAsync(id);
        Assert.Equal(0, runtime!.UtilizationReads);
        Assert.Empty(source.Contexts);
        Assert.Empty(status.Autoscaling);
        Assert.Equal(1, status.Components[0].DesiredReplicas);
        Assert.DoesNotContain(host.Audit.Snapshot(), e => e.Action == "deployment.scale");
        Assert.Single(host.Runtime.Snapshot());
        Assert.Contains(logs.Messages, m => m.Contains(" Information 8507 Runtime in-memory scales workloads itself (IWorkloadSelfScaling): the orchestrator leaves autoscaling to it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Admission_refuses_utilisation_targets_on_a_runtime_that_neither_reports_utilisation_nor_scales_itself_listing_every_problem()
    {
        var source = new TestMetricSource { Measures = q => q.Name != "unknown" };
        await using var host = Host(source, inner => new ForwardingWorkloadRuntime(inner));
        var web = Specs.Web(replicas: 1).Components[0];
        var spec = Specs.Web(replicas: 1) with
        {
            Components =
            [
                web with { Autoscaling = new AutoscalingSpec { MaxReplicas = 4, TargetCpuUtilizationPercent = 50 } },
                web with { Id = "api", Ports = [new PortSpec { ContainerPort = 8081 }], Autoscaling = new AutoscalingSpec { MaxReplicas = 4, TargetMemoryUtilizationPercent = 60, Metrics = [CustomMetricAutoscalingTests.Average("unknown", 1)] } },
                web with { Id = "jobs", Ports = [new PortSpec { ContainerPort = 8082 }], Autoscaling = new AutoscalingSpec { MaxReplicas = 4 } },
                web with { Id = "queue", Ports = [new PortSpec { ContainerPort = 8083 }], Autoscaling = new AutoscalingSpec { MaxReplicas = 4, Metrics = [CustomMetricAutoscalingTests.Average("rps", 1)] } },
                web with { Id = "db", Ports = [new PortSpec { ContainerPort = 8084 }] },
            ],
        };

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(spec));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        const string Missing = "the in-memory runtime neither reports utilisation (IWorkloadUtilization) nor scales workloads itself (IWorkloadSelfScaling), so nothing would act on the";
        Assert.Equal(
            [
                $"components[0] (web).autoscaling: {Missing} CPU target (50 %); {Advice}",
                $"components[1] (api).autoscaling: {Missing} memory target (60 %); {Advice}",
                "components[1] (api).autoscaling.metrics[0].query: no registered metric source measures a TestQuery; register one that does (.AddStrategies() adapts every IMetricProvider, such as Prometheus) or use another query.",
                $"components[2] (jobs).autoscaling: {Missing} default CPU target (80 %, used when the spec sets no target and no metric); {Advice}",
            ],
            error.Errors);
        Assert.Single(host.Audit.Snapshot(), e => e.Action == "deployment.deploy" && e.Outcome == "rejected");
    }

    [Fact]
    public async Task Custom_metrics_alone_scale_on_a_runtime_that_neither_reports_utilisation_nor_scales_itself()
    {
        var source = new TestMetricSource();
        await using var host = Host(source, inner => new ForwardingWorkloadRuntime(inner));
        var id = await host.Vm.DeployAsync(CustomMetricAutoscalingTests.Spec(2, cpu: null, CustomMetricAutoscalingTests.Value("latency", 200)));
        await host.SettleAsync(id);

        // 300 ms against 200: ceil(2 × 1.5) = 3.
        source.Set("latency", 300);
        var scaled = await AutoscalingLoopTests.TickAsync(host, id, s => s.Autoscaling.Count == 1 && s.Autoscaling[0].Scaled, "the scale-out");

        var reading = Assert.Single(scaled.Autoscaling[0].Metrics);
        Assert.Equal(("latency", 300.0, 200.0, 3), (reading.Name, reading.Value, reading.Target, reading.ProposedReplicas));
        Assert.Equal(3, (await host.SettleAsync(id)).Components[0].DesiredReplicas);
        Assert.Equal(3, host.Runtime.Snapshot().Count(i => i.State == InstanceState.Running));
    }
}
