using Bpi.Orchestration.Strategies.Telemetry;

namespace Bpi.Orchestration.Strategies.Analysis;

/// <summary>Runs an <see cref="AnalysisSpec"/>: every metric (and the judge) side by side on the orchestrator's clock.</summary>
/// <remarks>
/// Measurements of external metric providers (Prometheus, web endpoints, your own) go through the orchestrator's circuit
/// breaker of that provider (<c>metrics:&lt;provider&gt;</c>): a provider that keeps failing is not called for a while, and its
/// measurements fail fast as errors. The built-in probe metrics measure the workload itself and are not guarded.
/// </remarks>
internal sealed class AnalysisRunner(IEnumerable<IMetricProvider> providers, IInstanceRequestSender sender, Resilience.CircuitBreakers? breakers = null)
{
    private readonly IReadOnlyList<IMetricProvider> _providers = [.. providers.Reverse()];

    public async Task<AnalysisRunResult> RunAsync(AnalysisSpec spec, AnalysisContext context, CancellationToken cancellationToken)
    {
        // A failing metric ends the run at once (as Argo Rollouts): the others are stopped.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var metricTasks = spec.Metrics.Select(RunAndStopAsync).ToList();
        var judgeTask = spec.Judge is { } judge ? JudgeAsync(judge) : Task.FromResult<JudgeResult?>(null);
        var results = await Task.WhenAll(metricTasks).ConfigureAwait(false);
        var judgeResult = await judgeTask.ConfigureAwait(false);
        var phase = AnalysisRunResult.Worst(results.Select(r => r.Phase).Concat(judgeResult is null ? [] : [judgeResult.Phase]));
        return new AnalysisRunResult(spec.Name, phase, results, judgeResult);

        async Task<MetricRunResult> RunAndStopAsync(MetricSpec metric)
        {
            try
            {
                var result = await RunMetricAsync(metric, context, stop.Token).ConfigureAwait(false);
                if (result.Phase is AnalysisPhase.Failed or AnalysisPhase.Error)
                {
                    CancelInline(stop); // on this thread: see CancelInline
                }

                return result;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new MetricRunResult(metric.Name, AnalysisPhase.Successful, [], 0, 0, 0, 0, "stopped early because another metric failed");
            }
        }

        async Task<JudgeResult?> JudgeAsync(StatisticalJudgeSpec judge)
        {
            try
            {
                var result = await StatisticalJudge.RunAsync(judge, sender, context, stop.Token).ConfigureAwait(false);
                if (result.Phase == AnalysisPhase.Failed)
                {
                    CancelInline(stop); // on this thread: see CancelInline
                }

                return result;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }
    }

    /// <summary>Cancels on this thread, so the rollout reaches its next wait on the thread that woke it (a manual clock's Advance) instead of a pool thread.</summary>
    internal static void CancelInline(CancellationTokenSource source) => source.Cancel();

    private async Task<MetricRunResult> RunMetricAsync(MetricSpec metric, AnalysisContext context, CancellationToken cancellationToken)
    {
        var time = context.Step.TimeProvider;
        var provider = _providers.FirstOrDefault(p => p.CanMeasure(metric.Query));
        if (provider is null)
        {
            return new MetricRunResult(metric.Name, AnalysisPhase.Error, [], 0, 0, 0, 1, $"no metric provider can measure {metric.Query.GetType().Name}; register one with AddMetricProvider");
        }

        if (metric.InitialDelay > TimeSpan.Zero)
        {
            await Task.Delay(metric.InitialDelay, time, cancellationToken).ConfigureAwait(false);
        }

        var values = new List<double>();
        int successful = 0, failed = 0, inconclusive = 0, errors = 0, consecutiveErrors = 0;
        string? lastError = null;
        for (var i = 0; i < metric.Count; i++)
        {
            if (i > 0)
            {
                await Task.Delay(metric.Interval, time, cancellationToken).ConfigureAwait(false);
            }

            await context.Step.WaitWhilePausedAsync(cancellationToken).ConfigureAwait(false);
            double value;
            try
            {
                value = await MeasureAsync(provider, metric.Query, context, breakers, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                errors++;
                consecutiveErrors++;
                lastError = ex.Message;
                Log.MeasurementError(context.Step.Logger, context.DeploymentId, metric.Name, ex.Message);
                if (consecutiveErrors > metric.ConsecutiveErrorLimit)
                {
                    return new MetricRunResult(metric.Name, AnalysisPhase.Error, values, successful, failed, inconclusive, errors, lastError);
                }

                continue;
            }

            consecutiveErrors = 0;
            values.Add(value);
            switch (Evaluate(metric, value))
            {
                case AnalysisPhase.Successful:
                    successful++;
                    break;
                case AnalysisPhase.Failed:
                    failed++;
                    if (failed > metric.FailureLimit)
                    {
                        return new MetricRunResult(metric.Name, AnalysisPhase.Failed, values, successful, failed, inconclusive, errors, lastError);
                    }

                    break;
                default:
                    inconclusive++;
                    break;
            }
        }

        var phase = values.Count == 0 && errors > 0 ? AnalysisPhase.Error
            : inconclusive > metric.InconclusiveLimit ? AnalysisPhase.Inconclusive
            : AnalysisPhase.Successful;
        return new MetricRunResult(metric.Name, phase, values, successful, failed, inconclusive, errors, lastError);
    }

    /// <summary>Classifies one measurement as Argo Rollouts does: the failure condition wins; a value matching neither condition (or a metric with none) is inconclusive.</summary>
    internal static AnalysisPhase Evaluate(MetricSpec metric, double value)
    {
        var success = metric.SuccessCondition?.Matches(value);
        var failure = metric.FailureCondition?.Matches(value);
        return (success, failure) switch
        {
            (_, true) => AnalysisPhase.Failed,
            (true, _) => AnalysisPhase.Successful,
            (null, false) => AnalysisPhase.Successful,
            (false, null) => AnalysisPhase.Failed,
            _ => AnalysisPhase.Inconclusive,
        };
    }

    /// <summary>One measurement, through the provider's circuit breaker unless it is the built-in provider (which measures the workload itself).</summary>
    internal static ValueTask<double> MeasureAsync(IMetricProvider provider, MetricQuery query, AnalysisContext context, Resilience.CircuitBreakers? breakers, CancellationToken cancellationToken)
        => breakers is null || provider is BuiltInMetricProvider
            ? provider.MeasureAsync(query, context, cancellationToken)
            : breakers.ExecuteAsync(
                BreakerTarget(provider),
                static (s, ct) => s.provider.MeasureAsync(s.query, s.context, ct),
                (provider, query, context),
                cancellationToken);

    /// <summary>The circuit-breaker target of a provider: <c>metrics:prometheus</c> for <c>PrometheusMetricProvider</c>.</summary>
    internal static string BreakerTarget(IMetricProvider provider)
    {
        var name = provider.GetType().Name;
        name = name.EndsWith("MetricProvider", StringComparison.Ordinal) && name.Length > "MetricProvider".Length ? name[..^"MetricProvider".Length] : name;
        return "metrics:" + name.ToLowerInvariant();
    }
}
