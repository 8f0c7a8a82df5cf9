using Bpi.Orchestration.Autoscaling;

namespace Bpi.Orchestration.Strategies.Analysis;

/// <summary>
/// Lets the autoscaler scale on any <see cref="MetricQuery"/> (<see cref="AutoscalingMetric.Query"/>): the last registered
/// <see cref="IMetricProvider"/> that can measure the query measures it, as an analysis would, with the serving revision
/// as both the canary and the stable revision (so <c>{{revision}}</c> in a Prometheus query is the revision being
/// scaled), through the provider's circuit breaker (<c>metrics:&lt;provider&gt;</c>).
/// </summary>
internal sealed class MetricProviderAutoscalingSource(IEnumerable<IMetricProvider> providers, Resilience.CircuitBreakers? breakers = null) : IAutoscalingMetricSource
{
    private readonly IReadOnlyList<IMetricProvider> _providers = [.. providers.Reverse()];

    public bool CanMeasure(object query) => query is MetricQuery q && _providers.Any(p => p.CanMeasure(q));

    public ValueTask<double> MeasureAsync(object query, AutoscalingMetricContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var q = query as MetricQuery ?? throw new ArgumentException($"A {query?.GetType().Name ?? "null"} is not a MetricQuery.", nameof(query));
        var provider = _providers.FirstOrDefault(p => p.CanMeasure(q))
            ?? throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"No metric provider can measure {q.GetType().Name}; register one with AddMetricProvider.");
        var analysis = new AnalysisContext(context.DeploymentId, context.ComponentId, context.Revision, context.Revision, context.Step);
        return AnalysisRunner.MeasureAsync(provider, q, analysis, breakers, cancellationToken);
    }
}
