using System.Globalization;

namespace Bpi.Orchestration.Strategies.Analysis;

/// <summary>
/// Compares the new revision with the stable one instead of against fixed lines (as Kayenta does): both revisions get
/// the same requests; latency is compared with a one-sided Mann-Whitney U test and the error rate with a one-sided
/// two-proportion z-test. A metric is High when the new revision is significantly worse (p below 1 − confidence) by
/// more than the allowed margin, NoData with fewer than <see cref="MinimumSampleSize"/> samples, otherwise Pass. The
/// score is the weighted share of passing metrics (0–100): below <see cref="MarginalScore"/> the run fails, at or above
/// <see cref="PassScore"/> it succeeds, in between it is inconclusive.
/// </summary>
public sealed record StatisticalJudgeSpec
{
    /// <summary>How many requests each revision receives.</summary>
    /// <value>The default value is 200.</value>
    public int SamplesPerRevision { get; init; } = 200;

    /// <summary>Fewer samples than this per revision make a metric NoData (not a failure).</summary>
    /// <value>The default value is 50 (Kayenta's advice).</value>
    public int MinimumSampleSize { get; init; } = 50;

    /// <summary>The confidence of the tests; a p-value below 1 − confidence is significant.</summary>
    /// <value>The default value is 0.95.</value>
    public double Confidence { get; init; } = 0.95;

    /// <summary>The median latency of the new revision may be this many times the stable one's before a significant difference counts (Kayenta's effect size).</summary>
    /// <value>The default value is 1.1 (10% slower).</value>
    public double AllowedLatencyIncrease { get; init; } = 1.1;

    /// <summary>The error rate of the new revision may exceed the stable one's by this much (absolute, 0–1) before a significant difference counts.</summary>
    /// <value>The default value is 0.01.</value>
    public double AllowedErrorRateIncrease { get; init; } = 0.01;

    /// <summary>The weight of the latency comparison in the score.</summary>
    /// <value>The default value is 50.</value>
    public double LatencyWeight { get; init; } = 50;

    /// <summary>The weight of the error-rate comparison in the score.</summary>
    /// <value>The default value is 50.</value>
    public double ErrorRateWeight { get; init; } = 50;

    /// <summary>A score below this fails the run.</summary>
    /// <value>The default value is 75 (Kayenta's suggested start).</value>
    public double MarginalScore { get; init; } = 75;

    /// <summary>A score at or above this passes the run.</summary>
    /// <value>The default value is 95 (Kayenta's suggested start).</value>
    public double PassScore { get; init; } = 95;

    /// <summary>The HTTP path requested.</summary>
    /// <value>The default value is <c>/</c>.</value>
    public string Path { get; init; } = "/";

    internal IEnumerable<string> Validate(string at)
    {
        if (SamplesPerRevision < 1 || MinimumSampleSize < 1)
        {
            yield return $"{at}: samplesPerRevision and minimumSampleSize must be at least 1.";
        }

        if (Confidence is <= 0.5 or >= 1)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{at}.confidence: {Confidence} must be between 0.5 and 1 (exclusive).");
        }

        if (AllowedLatencyIncrease < 1 || AllowedErrorRateIncrease < 0)
        {
            yield return $"{at}: allowedLatencyIncrease must be at least 1 and allowedErrorRateIncrease at least 0.";
        }

        if (LatencyWeight < 0 || ErrorRateWeight < 0 || LatencyWeight + ErrorRateWeight <= 0)
        {
            yield return $"{at}: the weights must not be negative and must not both be 0.";
        }

        if (MarginalScore is < 0 or > 100 || PassScore is < 0 or > 100 || MarginalScore > PassScore)
        {
            yield return $"{at}: scores must be 0-100 with marginalScore <= passScore.";
        }
    }
}

/// <summary>The judge's verdict.</summary>
/// <param name="Phase">Successful, Failed or Inconclusive.</param>
/// <param name="Score">The score, 0–100 (NaN when no metric had data).</param>
/// <param name="Metrics">Each compared metric.</param>
public sealed record JudgeResult(AnalysisPhase Phase, double Score, IReadOnlyList<JudgedMetric> Metrics)
{
    /// <inheritdoc />
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"judge {Phase} (score {Score:0.#}: {string.Join(", ", Metrics)})");
}

/// <summary>One comparison of the judge.</summary>
/// <param name="Name">The metric (<c>latency</c> or <c>error-rate</c>).</param>
/// <param name="Classification">Pass, High (worse) or NoData.</param>
/// <param name="PValue">The one-sided p-value that the new revision is worse.</param>
/// <param name="Canary">The new revision's figure (median latency in ms, or error rate).</param>
/// <param name="Stable">The stable revision's figure.</param>
public sealed record JudgedMetric(string Name, JudgeClassification Classification, double PValue, double Canary, double Stable)
{
    /// <inheritdoc />
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Name} {Classification} (new {Canary:0.####} vs stable {Stable:0.####}, p={PValue:0.####})");
}

/// <summary>How the judge classified a metric.</summary>
public enum JudgeClassification
{
    /// <summary>Not significantly worse.</summary>
    Pass = 0,

    /// <summary>Significantly worse than stable (higher latency or error rate) by more than the allowed margin.</summary>
    High,

    /// <summary>Too few samples to judge.</summary>
    NoData,
}

/// <summary>Samples both revisions and judges them.</summary>
internal static class StatisticalJudge
{
    public static async Task<JudgeResult> RunAsync(StatisticalJudgeSpec spec, IInstanceRequestSender sender, AnalysisContext context, CancellationToken cancellationToken)
    {
        if (context.StableRevision is not { } stableRevision)
        {
            return new JudgeResult(AnalysisPhase.Successful, 100, []);
        }

        var canary = await BuiltInMetricProvider.SampleAsync(sender, context, context.CanaryRevision, spec.Path, spec.SamplesPerRevision, cancellationToken).ConfigureAwait(false);
        var stable = await BuiltInMetricProvider.SampleAsync(sender, context, stableRevision, spec.Path, spec.SamplesPerRevision, cancellationToken).ConfigureAwait(false);
        return Judge(spec, canary, stable);
    }

    internal static JudgeResult Judge(StatisticalJudgeSpec spec, IReadOnlyList<RequestSample> canary, IReadOnlyList<RequestSample> stable)
    {
        var alpha = 1 - spec.Confidence;
        var metrics = new List<(JudgedMetric Metric, double Weight)>();

        // Latency of the answered requests.
        var canaryLatency = canary.Where(s => s.Success).Select(s => s.Latency.TotalMilliseconds).ToArray();
        var stableLatency = stable.Where(s => s.Success).Select(s => s.Latency.TotalMilliseconds).ToArray();
        if (canaryLatency.Length < spec.MinimumSampleSize || stableLatency.Length < spec.MinimumSampleSize)
        {
            metrics.Add((new JudgedMetric("latency", JudgeClassification.NoData, double.NaN, Median(canaryLatency), Median(stableLatency)), spec.LatencyWeight));
        }
        else
        {
            var p = Statistics.MannWhitneyGreaterPValue(canaryLatency, stableLatency);
            var canaryMedian = Median(canaryLatency);
            var stableMedian = Median(stableLatency);
            var worse = p < alpha && canaryMedian > stableMedian * spec.AllowedLatencyIncrease;
            metrics.Add((new JudgedMetric("latency", worse ? JudgeClassification.High : JudgeClassification.Pass, p, canaryMedian, stableMedian), spec.LatencyWeight));
        }

        // Error rate of all requests.
        if (canary.Count < spec.MinimumSampleSize || stable.Count < spec.MinimumSampleSize)
        {
            metrics.Add((new JudgedMetric("error-rate", JudgeClassification.NoData, double.NaN, double.NaN, double.NaN), spec.ErrorRateWeight));
        }
        else
        {
            var canaryErrors = canary.Count(s => !s.Success);
            var stableErrors = stable.Count(s => !s.Success);
            var p = Statistics.TwoProportionGreaterPValue(canaryErrors, canary.Count, stableErrors, stable.Count);
            var canaryRate = (double)canaryErrors / canary.Count;
            var stableRate = (double)stableErrors / stable.Count;
            var worse = p < alpha && canaryRate - stableRate > spec.AllowedErrorRateIncrease;
            metrics.Add((new JudgedMetric("error-rate", worse ? JudgeClassification.High : JudgeClassification.Pass, p, canaryRate, stableRate), spec.ErrorRateWeight));
        }

        var judged = metrics.Where(m => m.Metric.Classification != JudgeClassification.NoData && m.Weight > 0).ToList();
        if (judged.Count == 0)
        {
            return new JudgeResult(AnalysisPhase.Inconclusive, double.NaN, [.. metrics.Select(m => m.Metric)]);
        }

        var score = 100 * judged.Where(m => m.Metric.Classification == JudgeClassification.Pass).Sum(m => m.Weight) / judged.Sum(m => m.Weight);
        var phase = score < spec.MarginalScore ? AnalysisPhase.Failed : score >= spec.PassScore ? AnalysisPhase.Successful : AnalysisPhase.Inconclusive;
        return new JudgeResult(phase, score, [.. metrics.Select(m => m.Metric)]);
    }

    private static double Median(double[] values)
    {
        if (values.Length == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

/// <summary>The tests behind the judge, with normal approximations.</summary>
internal static class Statistics
{
    /// <summary>One-sided p-value of the Mann-Whitney U test that <paramref name="x"/> tends to be greater than <paramref name="y"/> (normal approximation with tie and continuity correction).</summary>
    public static double MannWhitneyGreaterPValue(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n1 = x.Count, n2 = y.Count, n = n1 + n2;
        var all = new (double Value, bool FromX)[n];
        for (var i = 0; i < n1; i++)
        {
            all[i] = (x[i], true);
        }

        for (var i = 0; i < n2; i++)
        {
            all[n1 + i] = (y[i], false);
        }

        Array.Sort(all, (a, b) => a.Value.CompareTo(b.Value));
        double rankSumX = 0, tieTerm = 0;
        for (var i = 0; i < n;)
        {
            var j = i;
            while (j + 1 < n && all[j + 1].Value == all[i].Value)
            {
                j++;
            }

            var rank = (i + j + 2) / 2.0; // ranks are 1-based; ties share their average rank
            var t = j - i + 1;
            tieTerm += (double)t * t * t - t;
            for (var k = i; k <= j; k++)
            {
                if (all[k].FromX)
                {
                    rankSumX += rank;
                }
            }

            i = j + 1;
        }

        var u = rankSumX - (n1 * (n1 + 1.0) / 2);
        var mean = n1 * (double)n2 / 2;
        var variance = n1 * (double)n2 / 12 * (n + 1 - (tieTerm / (n * (n - 1.0))));
        if (variance <= 0)
        {
            return 1;
        }

        var z = (u - mean - 0.5) / Math.Sqrt(variance);
        return 1 - NormalCdf(z);
    }

    /// <summary>One-sided p-value of the pooled two-proportion z-test that the first proportion is greater than the second.</summary>
    public static double TwoProportionGreaterPValue(int successes1, int n1, int successes2, int n2)
    {
        var p1 = (double)successes1 / n1;
        var p2 = (double)successes2 / n2;
        var pooled = (double)(successes1 + successes2) / (n1 + n2);
        var se = Math.Sqrt(pooled * (1 - pooled) * ((1.0 / n1) + (1.0 / n2)));
        if (se == 0)
        {
            return p1 > p2 ? 0 : 1;
        }

        return 1 - NormalCdf((p1 - p2) / se);
    }

    /// <summary>The standard normal cumulative distribution.</summary>
    public static double NormalCdf(double z) => 0.5 * Erfc(-z / Math.Sqrt(2));

    /// <summary>The complementary error function (Chebyshev fit, relative error below 1.2e-7).</summary>
    public static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1 / (1 + (0.5 * z));
        double[] c = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
        var poly = c[^1];
        for (var i = c.Length - 2; i >= 0; i--)
        {
            poly = c[i] + (t * poly);
        }

        var r = t * Math.Exp(-(z * z) + poly);
        return x >= 0 ? r : 2 - r;
    }
}
