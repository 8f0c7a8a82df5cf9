using System.Globalization;

namespace Bpi.Orchestration.Strategies.Analysis;

/// <summary>
/// An analysis run, as Argo Rollouts' AnalysisTemplate: metrics measured at an interval and checked against success and
/// failure conditions, and optionally a statistical judge that compares the new revision with the stable one. The run
/// is Successful, Failed, Inconclusive (the rollout pauses for a person) or Error (measurements kept failing).
/// </summary>
public sealed record AnalysisSpec
{
    /// <summary>The analysis' name, shown in events and the audit trail.</summary>
    /// <value>The default value is <c>analysis</c>.</value>
    public string Name { get; init; } = "analysis";

    /// <summary>The metrics to measure; they run side by side.</summary>
    /// <value>The default value is empty.</value>
    public IReadOnlyList<MetricSpec> Metrics { get; init; } = [];

    /// <summary>A statistical comparison of the new revision with the stable one; <see langword="null"/> for none.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public StatisticalJudgeSpec? Judge { get; init; }

    /// <summary>Checks the analysis and lists every problem.</summary>
    /// <param name="field">The field name to prefix problems with.</param>
    /// <returns>The problems.</returns>
    public IEnumerable<string> Validate(string field)
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            yield return $"{field}.name: is required.";
        }

        if ((Metrics is null || Metrics.Count == 0) && Judge is null)
        {
            yield return $"{field}: needs at least one metric or a judge.";
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (Metrics?.Count ?? 0); i++)
        {
            var metric = Metrics![i];
            var at = string.Create(CultureInfo.InvariantCulture, $"{field}.metrics[{i}]");
            if (metric is null)
            {
                yield return $"{at}: is null.";
                continue;
            }

            if (!string.IsNullOrEmpty(metric.Name) && !names.Add(metric.Name))
            {
                yield return $"{at}.name: '{metric.Name}' is used twice.";
            }

            foreach (var problem in metric.Validate(at))
            {
                yield return problem;
            }
        }

        if (Judge is not null)
        {
            foreach (var problem in Judge.Validate(field + ".judge"))
            {
                yield return problem;
            }
        }
    }
}

/// <summary>One metric of an analysis: what to measure, how often, and when a measurement passes or fails.</summary>
public sealed record MetricSpec
{
    /// <summary>The metric's name.</summary>
    public required string Name { get; init; }

    /// <summary>What to measure and where (built-in probe metrics, Prometheus, a JSON endpoint).</summary>
    public required MetricQuery Query { get; init; }

    /// <summary>The time between measurements.</summary>
    /// <value>The default value is 1 minute.</value>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How many measurements the run takes.</summary>
    /// <value>The default value is 1.</value>
    public int Count { get; init; } = 1;

    /// <summary>How long to wait before the first measurement.</summary>
    /// <value>The default value is zero.</value>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.Zero;

    /// <summary>A measurement in this range is successful; <see langword="null"/> for no success condition.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public MetricCondition? SuccessCondition { get; init; }

    /// <summary>A measurement in this range has failed; <see langword="null"/> for no failure condition.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public MetricCondition? FailureCondition { get; init; }

    /// <summary>How many failed measurements are tolerated; one more fails the metric (and the run, at once).</summary>
    /// <value>The default value is 0.</value>
    public int FailureLimit { get; init; }

    /// <summary>How many inconclusive measurements are tolerated; one more makes the metric inconclusive.</summary>
    /// <value>The default value is 0.</value>
    public int InconclusiveLimit { get; init; }

    /// <summary>How many measurement errors in a row are tolerated; one more ends the metric with Error.</summary>
    /// <value>The default value is 4 (as Argo Rollouts).</value>
    public int ConsecutiveErrorLimit { get; init; } = 4;

    internal IEnumerable<string> Validate(string at)
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            yield return $"{at}.name: is required.";
        }

        if (Query is null)
        {
            yield return $"{at}.query: is required.";
        }
        else
        {
            foreach (var problem in Query.Validate())
            {
                yield return $"{at}.query: {problem}";
            }
        }

        if (Count < 1)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{at}.count: {Count} must be at least 1.");
        }

        if (Count > 1 && Interval <= TimeSpan.Zero)
        {
            yield return $"{at}.interval: must be greater than zero when count is more than 1.";
        }

        if (InitialDelay < TimeSpan.Zero)
        {
            yield return $"{at}.initialDelay: must not be negative.";
        }

        foreach (var problem in DeploymentSpec.CheckDurations(($"{at}.interval", Interval), ($"{at}.initialDelay", InitialDelay)))
        {
            yield return problem;
        }

        if (FailureLimit < 0 || InconclusiveLimit < 0 || ConsecutiveErrorLimit < 0)
        {
            yield return $"{at}: failureLimit, inconclusiveLimit and consecutiveErrorLimit must not be negative.";
        }

        foreach (var (condition, field) in new[] { (SuccessCondition, "successCondition"), (FailureCondition, "failureCondition") })
        {
            if (condition is { Min: null, Max: null })
            {
                yield return $"{at}.{field}: set a minimum, a maximum or both.";
            }
            else if (condition is { Min: { } min, Max: { } max } && min > max)
            {
                yield return $"{at}.{field}: the minimum {min.ToString(CultureInfo.InvariantCulture)} is above the maximum {max.ToString(CultureInfo.InvariantCulture)}.";
            }
        }
    }
}

/// <summary>A closed range a measurement is checked against (either bound may be open).</summary>
/// <param name="Min">The lowest matching value, or <see langword="null"/> for no lower bound.</param>
/// <param name="Max">The highest matching value, or <see langword="null"/> for no upper bound.</param>
public sealed record MetricCondition(double? Min, double? Max)
{
    /// <summary>Values at or above <paramref name="min"/>.</summary>
    /// <param name="min">The lower bound.</param>
    /// <returns>The condition.</returns>
    public static MetricCondition AtLeast(double min) => new(min, null);

    /// <summary>Values at or below <paramref name="max"/>.</summary>
    /// <param name="max">The upper bound.</param>
    /// <returns>The condition.</returns>
    public static MetricCondition AtMost(double max) => new(null, max);

    /// <summary>Values strictly above <paramref name="bound"/> (for failure conditions).</summary>
    /// <param name="bound">The bound.</param>
    /// <returns>The condition.</returns>
    public static MetricCondition Above(double bound) => new(Math.BitIncrement(bound), null);

    /// <summary>Values strictly below <paramref name="bound"/> (for failure conditions).</summary>
    /// <param name="bound">The bound.</param>
    /// <returns>The condition.</returns>
    public static MetricCondition Below(double bound) => new(null, Math.BitDecrement(bound));

    /// <summary>Whether a value is in the range; NaN never is.</summary>
    /// <param name="value">The measured value.</param>
    /// <returns><see langword="true"/> when it matches.</returns>
    public bool Matches(double value) => !double.IsNaN(value) && (Min is not { } min || value >= min) && (Max is not { } max || value <= max);

    /// <inheritdoc />
    public override string ToString() => (Min, Max) switch
    {
        ({ } min, { } max) => string.Create(CultureInfo.InvariantCulture, $"[{min}, {max}]"),
        ({ } min, null) => string.Create(CultureInfo.InvariantCulture, $">= {min}"),
        (null, { } max) => string.Create(CultureInfo.InvariantCulture, $"<= {max}"),
        _ => "any",
    };
}

/// <summary>What a metric measures; a <see cref="IMetricProvider"/> that can measure it is picked at run time.</summary>
/// <remarks>
/// Stored as JSON with a <c>$kind</c> of <c>builtIn</c>, <c>prometheus</c> or <c>json</c>, so durable deployment stores read
/// it back. A query type of a host's own cannot be written to a durable store (serializing it fails with the type's
/// name); keep such specs in an in-memory store, or express the query as a <see cref="JsonMetricQuery"/>.
/// </remarks>
[System.Text.Json.Serialization.JsonPolymorphic(TypeDiscriminatorPropertyName = "$kind")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(BuiltInMetricQuery), "builtIn")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(PrometheusMetricQuery), "prometheus")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(JsonMetricQuery), "json")]
public abstract record MetricQuery
{
    /// <summary>A one-line description for plans and events.</summary>
    /// <returns>The description.</returns>
    public abstract string Describe();

    /// <summary>Checks the query; returns every problem.</summary>
    /// <returns>The problems.</returns>
    public virtual IEnumerable<string> Validate() => [];
}

/// <summary>
/// A metric the orchestrator measures itself by sending requests to the instances of a revision (through
/// <see cref="IInstanceRequestSender"/>): success rate (0–1, a response below 500 succeeds) or latency percentiles in ms.
/// </summary>
/// <param name="Metric">Which figure.</param>
public sealed record BuiltInMetricQuery(BuiltInMetric Metric) : MetricQuery
{
    /// <summary>Which revision's instances receive the requests.</summary>
    /// <value>The default value is <see cref="AnalysisRevision.Canary"/>.</value>
    public AnalysisRevision Revision { get; init; } = AnalysisRevision.Canary;

    /// <summary>How many requests one measurement sends.</summary>
    /// <value>The default value is 50.</value>
    public int Requests { get; init; } = 50;

    /// <summary>The HTTP path requested.</summary>
    /// <value>The default value is <c>/</c>.</value>
    public string Path { get; init; } = "/";

    /// <inheritdoc />
    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"{Metric} of the {Revision.ToString().ToLowerInvariant()} revision over {Requests} requests to {Path}");

    /// <inheritdoc />
    public override IEnumerable<string> Validate()
    {
        if (Requests < 1)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"requests: {Requests} must be at least 1.");
        }

        if (string.IsNullOrEmpty(Path) || Path[0] != '/')
        {
            yield return $"path: '{Path}' must start with '/'.";
        }
    }
}

/// <summary>The figures the built-in provider measures.</summary>
public enum BuiltInMetric
{
    /// <summary>The share (0–1) of requests answered below 500.</summary>
    SuccessRate = 0,

    /// <summary>The median latency in milliseconds.</summary>
    LatencyP50,

    /// <summary>The 95th percentile latency in milliseconds.</summary>
    LatencyP95,

    /// <summary>The 99th percentile latency in milliseconds.</summary>
    LatencyP99,
}

/// <summary>Which revision a measurement is about.</summary>
public enum AnalysisRevision
{
    /// <summary>The revision being rolled out.</summary>
    Canary = 0,

    /// <summary>The revision serving before the rollout.</summary>
    Stable,
}

/// <summary>
/// An instant query against the Prometheus HTTP API (<c>GET {address}/api/v1/query?query=…</c>); the first sample of a
/// vector or the scalar is the measurement. <c>{{deployment}}</c>, <c>{{component}}</c>, <c>{{revision}}</c> and
/// <c>{{stableRevision}}</c> in the query are replaced.
/// </summary>
/// <param name="Address">The Prometheus server, for example <c>http://prometheus:9090</c>.</param>
/// <param name="Query">The PromQL query.</param>
public sealed record PrometheusMetricQuery(Uri Address, string Query) : MetricQuery
{
    /// <summary>How long the query may take.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public override string Describe() => $"prometheus {Address.GetLeftPart(UriPartial.Authority)}: {Query}";

    /// <inheritdoc />
    public override IEnumerable<string> Validate()
    {
        if (Address is null || !Address.IsAbsoluteUri)
        {
            yield return "address: must be an absolute http(s) URL.";
        }

        if (string.IsNullOrWhiteSpace(Query))
        {
            yield return "query: is required.";
        }
    }
}

/// <summary>
/// A JSON web endpoint (as Argo Rollouts' web provider): <c>GET {url}</c>, then the number at <see cref="JsonPath"/>
/// (<c>$.a.b[0].c</c>; a JSON number, or a string holding one, or a boolean as 1/0). <c>{{deployment}}</c>,
/// <c>{{component}}</c>, <c>{{revision}}</c> and <c>{{stableRevision}}</c> in the URL are replaced.
/// </summary>
/// <param name="Url">The endpoint.</param>
/// <param name="JsonPath">The path of the value.</param>
public sealed record JsonMetricQuery(Uri Url, string JsonPath) : MetricQuery
{
    /// <summary>Extra request headers (for example an authorization header; never logged).</summary>
    /// <value>The default value is empty.</value>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>How long the request may take.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public override string Describe() => $"json {Url.GetLeftPart(UriPartial.Path)} at {JsonPath}";

    /// <inheritdoc />
    public override IEnumerable<string> Validate()
    {
        if (Url is null || !Url.IsAbsoluteUri)
        {
            yield return "url: must be an absolute http(s) URL.";
        }

        if (string.IsNullOrWhiteSpace(JsonPath) || !JsonPath.StartsWith('$'))
        {
            yield return $"jsonPath: '{JsonPath}' must start with '$', for example $.data.value.";
        }
    }
}
