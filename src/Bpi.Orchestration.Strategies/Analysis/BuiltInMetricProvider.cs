using System.Globalization;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Strategies.Analysis;

/// <summary>Measures <see cref="BuiltInMetricQuery"/> by sending requests to the running instances of a revision, round robin.</summary>
internal sealed class BuiltInMetricProvider(IInstanceRequestSender sender) : IMetricProvider
{
    public bool CanMeasure(MetricQuery query) => query is BuiltInMetricQuery;

    public async ValueTask<double> MeasureAsync(MetricQuery query, AnalysisContext context, CancellationToken cancellationToken = default)
    {
        var q = (BuiltInMetricQuery)query;
        var revision = q.Revision == AnalysisRevision.Canary
            ? context.CanaryRevision
            : context.StableRevision ?? throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, "The analysis asks for the stable revision, but there is none (a first deployment).");
        var samples = await SampleAsync(sender, context, revision, q.Path, q.Requests, cancellationToken).ConfigureAwait(false);
        return q.Metric switch
        {
            BuiltInMetric.SuccessRate => (double)samples.Count(s => s.Success) / samples.Count,
            BuiltInMetric.LatencyP50 => Percentile(samples, 0.50),
            BuiltInMetric.LatencyP95 => Percentile(samples, 0.95),
            _ => Percentile(samples, 0.99),
        };
    }

    /// <summary>Sends <paramref name="count"/> requests to the running instances of a revision, round robin.</summary>
    internal static async Task<List<RequestSample>> SampleAsync(IInstanceRequestSender sender, AnalysisContext context, int revision, string path, int count, CancellationToken cancellationToken)
    {
        var instances = (await context.Step.GetInstancesAsync(context.ComponentId, revision, cancellationToken).ConfigureAwait(false))
            .Where(i => i.State == InstanceState.Running)
            .OrderBy(i => i.InstanceId, StringComparer.Ordinal)
            .ToList();
        if (instances.Count == 0)
        {
            throw new OrchestrationException(
                OrchestrationErrorKind.NotFound,
                string.Create(CultureInfo.InvariantCulture, $"Revision {revision} of component '{context.ComponentId}' has no running instance to send requests to."));
        }

        var samples = new List<RequestSample>(count);
        for (var i = 0; i < count; i++)
        {
            samples.Add(await sender.SendAsync(instances[i % instances.Count], path, cancellationToken).ConfigureAwait(false));
        }

        if (samples.Count > 0 && samples.TrueForAll(s => s.Unreached))
        {
            // Not a 0% success rate: nothing was measured. Say why, so a rollback does not blame the new version.
            var endpoint = instances[0].Endpoint?.ToString() ?? "none";
            throw new OrchestrationException(
                OrchestrationErrorKind.RuntimeUnavailable,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"None of the {samples.Count} requests reached the running instances of revision {revision} of component '{context.ComponentId}' (first endpoint: {endpoint}), so nothing was measured. The request sender ({sender.GetType().Name}) cannot reach them from this process: on the in-memory runtime, AddInMemoryRuntime (Bpi.Orchestration.Testing) simulates the requests; elsewhere register a sender that can with UseRequestSender<T>()."));
        }

        return samples;
    }

    /// <summary>The nearest-rank percentile of the latencies, in milliseconds.</summary>
    internal static double Percentile(IReadOnlyList<RequestSample> samples, double p)
    {
        var sorted = samples.Select(s => s.Latency.TotalMilliseconds).Order().ToArray();
        var rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
