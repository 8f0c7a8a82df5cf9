using System.Collections.Concurrent;
using Bpi.Orchestration.Autoscaling;
using Bpi.Orchestration.State;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Autoscaling;

/// <summary>
/// Custom metrics (<see cref="AutoscalingSpec.Metrics"/>) on the in-memory runtime with a manual clock: average-value and
/// value targets, the largest proposal of CPU and a custom metric, a metric that cannot be read skipped as the HPA skips
/// it, and admission refusing a metric no source measures.
/// </summary>
public sealed class CustomMetricAutoscalingTests
{
    static CustomMetricAutoscalingTests() => AutoscalingQueryTypes.Register<TestQuery>("test");

    internal static DeploymentSpec Spec(int replicas, int? cpu, params AutoscalingMetric[] metrics)
    {
        var spec = Specs.Web(replicas: replicas);
        return spec with
        {
            Components = [spec.Components[0] with { Autoscaling = new AutoscalingSpec { MinReplicas = 1, MaxReplicas = 10, TargetCpuUtilizationPercent = cpu, Metrics = metrics } }],
        };
    }

    internal static AutoscalingMetric Average(string name, double target) => new() { Name = name, Query = new TestQuery(name), TargetAverageValue = target };

    internal static AutoscalingMetric Value(string name, double target) => new() { Name = name, Query = new TestQuery(name), TargetValue = target };

    private static TestHost Host(TestMetricSource source) => new(extra: b => b.Services.AddSingleton<IAutoscalingMetricSource>(source));

    [Fact]
    public async Task An_average_value_target_divides_the_total_by_the_target_and_the_largest_proposal_of_cpu_and_the_metric_wins()
    {
        var source = new TestMetricSource();
        await using var host = Host(source);
        var id = await host.Vm.DeployAsync(Spec(2, cpu: 50, Average("rps", 100)));
        await host.SettleAsync(id);

        // CPU at its target keeps 2; 450 requests per second against 100 per instance ask for ceil(450 / 100) = 5.
        host.Runtime.SetUtilization(id, "web", cpuCores: 0.25);
        source.Set("rps", 450);
        var scaled = await AutoscalingLoopTests.TickAsync(host, id, s => s.Autoscaling.Count == 1 && s.Autoscaling[0].Scaled, "the scale-out");

        var decision = scaled.Autoscaling[0];
        Assert.Equal((2, 5), (decision.CurrentReplicas, decision.DesiredReplicas));
        Assert.Equal([("cpu", 2), ("rps", 5)], decision.Metrics.Select(m => (m.Name, m.ProposedReplicas)));
        var rps = decision.Metrics.Single(m => m.Name == "rps");
        Assert.Equal((225.0, 100.0), (rps.Value, rps.Target)); // per instance
        Assert.StartsWith("rps 225 of 100 target asks for 5", decision.Reason, StringComparison.Ordinal);
        Assert.Equal(5, (await host.SettleAsync(id)).Components[0].DesiredReplicas);

        // The context names the component and the serving revision.
        var context = source.Contexts.Last();
        Assert.Equal((id, "web", 1), (context.DeploymentId, context.ComponentId, context.Revision));
    }

    [Fact]
    public async Task A_value_target_scales_by_the_ratio_of_the_value_to_the_target()
    {
        var source = new TestMetricSource();
        await using var host = Host(source);
        var id = await host.Vm.DeployAsync(Spec(2, cpu: null, Value("latency", 200)));
        await host.SettleAsync(id);

        // 300 ms against 200: ceil(2 × 1.5) = 3. No CPU target with a custom metric: CPU is not even measured.
        host.Runtime.SetUtilization(id, "web", cpuCores: 5.0);
        source.Set("latency", 300);
        var scaled = await AutoscalingLoopTests.TickAsync(host, id, s => s.Autoscaling.Count == 1 && s.Autoscaling[0].Scaled, "the scale-out");

        var reading = Assert.Single(scaled.Autoscaling[0].Metrics);
        Assert.Equal(("latency", 300.0, 200.0, 3), (reading.Name, reading.Value, reading.Target, reading.ProposedReplicas));
        Assert.Equal(3, (await host.SettleAsync(id)).Components[0].DesiredReplicas);
    }

    [Fact]
    public async Task A_metric_that_cannot_be_read_is_skipped_and_blocks_only_scaling_in()
    {
        var source = new TestMetricSource();
        await using var host = Host(source);
        var id = await host.Vm.DeployAsync(Spec(2, cpu: null, Average("rps", 100), Value("queue", 10)) with { });
        await host.SettleAsync(id);

        // Nothing readable: no change, and the decision says why.
        source.Fail("rps");
        source.Fail("queue");
        var none = await AutoscalingLoopTests.TickAsync(host, id, s => s.Autoscaling.Count == 1, "a decision");
        Assert.False(none.Autoscaling[0].Scaled);
        Assert.Equal("no metric could be read: rps: rps is down; queue: queue is down", none.Autoscaling[0].Reason);

        // The queue alone is readable and asks for ceil(2 × 30 / 10) = 6: the unread rps does not stop a scale-out.
        source.Set("queue", 30);
        var scaled = await AutoscalingLoopTests.TickAsync(host, id, s => s.Autoscaling[0].Scaled, "the scale-out");
        Assert.Equal(6, scaled.Autoscaling[0].DesiredReplicas);
        Assert.Contains("skipped rps: rps is down", scaled.Autoscaling[0].Reason, StringComparison.Ordinal);
        Assert.Equal(6, (await host.SettleAsync(id)).Components[0].DesiredReplicas);

        // The queue empties, asking for 1; while rps cannot be read, the count is not lowered (it might ask for more).
        source.Set("queue", 1);
        var at = scaled.Autoscaling[0].At;
        var held = await AutoscalingLoopTests.TickAsync(host, id, s => s.Autoscaling[0].At > at, "a later decision");
        Assert.Equal(6, held.Autoscaling[0].DesiredReplicas);
        Assert.EndsWith("no scale-in while a metric cannot be read", held.Autoscaling[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admission_refuses_every_metric_no_registered_source_measures()
    {
        var source = new TestMetricSource { Measures = q => q.Name != "unknown" && q.Name != "other" };
        await using var host = Host(source);
        var spec = Spec(1, cpu: 50, Average("unknown", 1), Average("rps", 1), Value("other", 1));

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(spec));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Equal(
            [
                "components[0] (web).autoscaling.metrics[0].query: no registered metric source measures a TestQuery; register one that does (.AddStrategies() adapts every IMetricProvider, such as Prometheus) or use another query.",
                "components[0] (web).autoscaling.metrics[2].query: no registered metric source measures a TestQuery; register one that does (.AddStrategies() adapts every IMetricProvider, such as Prometheus) or use another query.",
            ],
            error.Errors);
    }

    [Fact]
    public void A_spec_with_custom_metrics_lists_every_problem_and_round_trips_through_the_store_format()
    {
        var bad = Spec(1, cpu: null, new AutoscalingMetric { Name = "cpu", Query = new TestQuery("x"), TargetValue = 1 }, new AutoscalingMetric { Name = "a b", Query = null!, TargetValue = 1, TargetAverageValue = -1 });
        Assert.Equal(
            [
                "components[0] (web).autoscaling.metrics[0].name: 'cpu' is taken (cpu and memory are the utilisation targets' names, and each metric needs its own); choose another name.",
                "components[0] (web).autoscaling.metrics[1].name: 'a b' is not a metric name; use 1 to 63 letters, digits, '-', '_' or '.'.",
                "components[0] (web).autoscaling.metrics[1].query: is missing; give the query a registered metric source measures (for example a Prometheus query).",
                "components[0] (web).autoscaling.metrics[1]: set exactly one of targetAverageValue (the value each instance should carry) and targetValue (the value to keep as measured).",
                "components[0] (web).autoscaling.metrics[1].targetAverageValue: -1 must be a positive number.",
            ],
            bad.Validate().Where(e => e.Contains(".metrics[", StringComparison.Ordinal)));

        var spec = Spec(1, cpu: 50, Average("rps", 100));
        var record = new DeploymentRecord { Id = "dep-1", State = DeploymentState.Running, Revisions = [new Bpi.Orchestration.Rollout.RevisionSpec(1, spec)], CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch, CreatedBy = "me" };
        var json = System.Text.Encoding.UTF8.GetString(DeploymentJson.Serialize(record));
        Assert.Contains("\"kind\": \"test\"", json, StringComparison.Ordinal);
        var back = DeploymentJson.Deserialize(DeploymentJson.Serialize(record)).Revisions[0].Spec.Components[0].Autoscaling!;
        Assert.Equal(spec.Components[0].Autoscaling, back);
        Assert.Equal(new TestQuery("rps"), back.Metrics[0].Query);
    }
}

/// <summary>A query of the tests' own: the name of a value the test sets.</summary>
public sealed record TestQuery(string Name);

/// <summary>A metric source whose values the test sets (or makes fail).</summary>
internal sealed class TestMetricSource : IAutoscalingMetricSource
{
    private readonly ConcurrentDictionary<string, double?> _values = new(StringComparer.Ordinal);

    public Func<TestQuery, bool> Measures { get; init; } = _ => true;

    public ConcurrentQueue<AutoscalingMetricContext> Contexts { get; } = new();

    public void Set(string name, double value) => _values[name] = value;

    public void Fail(string name) => _values[name] = null;

    public bool CanMeasure(object query) => query is TestQuery q && Measures(q);

    public ValueTask<double> MeasureAsync(object query, AutoscalingMetricContext context, CancellationToken cancellationToken = default)
    {
        Contexts.Enqueue(context);
        var name = ((TestQuery)query).Name;
        return _values.TryGetValue(name, out var value) && value is { } v
            ? ValueTask.FromResult(v)
            : throw new OrchestrationException(OrchestrationErrorKind.NotFound, name + " is down");
    }
}
