using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Strategies.Analysis;

/// <summary>
/// Measures one <see cref="MetricQuery"/>. The package registers providers for built-in probe metrics, Prometheus and
/// JSON endpoints; add your own with <c>builder.AddMetricProvider&lt;T&gt;()</c> (a provider registered later is asked first).
/// The port lives in Strategies because only analysis steps use it.
/// </summary>
public interface IMetricProvider
{
    /// <summary>Whether this provider measures queries of this kind.</summary>
    /// <param name="query">The query.</param>
    /// <returns><see langword="true"/> when it does.</returns>
    bool CanMeasure(MetricQuery query);

    /// <summary>Takes one measurement.</summary>
    /// <param name="query">The query.</param>
    /// <param name="context">The revisions under analysis and the rollout's step context.</param>
    /// <param name="cancellationToken">Cancels the measurement.</param>
    /// <returns>The measured value.</returns>
    /// <exception cref="OrchestrationException">The measurement could not be taken (it counts as an error, not a failure).</exception>
    ValueTask<double> MeasureAsync(MetricQuery query, AnalysisContext context, CancellationToken cancellationToken = default);
}

/// <summary>What an analysis runs against.</summary>
/// <param name="DeploymentId">The deployment.</param>
/// <param name="ComponentId">The component under analysis.</param>
/// <param name="CanaryRevision">The revision being rolled out.</param>
/// <param name="StableRevision">The revision serving before, if any.</param>
/// <param name="Step">The rollout's step context (runtime, router, clock).</param>
public sealed record AnalysisContext(string DeploymentId, string ComponentId, int CanaryRevision, int? StableRevision, RolloutStepContext Step)
{
    /// <summary>Replaces <c>{{deployment}}</c>, <c>{{component}}</c>, <c>{{revision}}</c> and <c>{{stableRevision}}</c> in a template.</summary>
    /// <param name="template">The text.</param>
    /// <returns>The text with the values filled in.</returns>
    public string Expand(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return template
            .Replace("{{deployment}}", DeploymentId, StringComparison.Ordinal)
            .Replace("{{component}}", ComponentId, StringComparison.Ordinal)
            .Replace("{{revision}}", CanaryRevision.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{stableRevision}}", StableRevision?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", StringComparison.Ordinal);
    }
}
