using System.Text.Json.Nodes;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Analysis;

namespace Bpi.Orchestration.Configuration;

/// <summary>Maps analyses (metrics and the statistical judge) and approval gates (manual or webhook).</summary>
internal static class AnalysisMapper
{
    /// <summary>
    /// <c>{ name, metrics: [ { name, metric: successRate|latencyP50|latencyP95|latencyP99, revision, requests, path,
    /// count, interval, initialDelay, successCondition: {min, max}, failureCondition, failureLimit } ] }</c>, or a
    /// Prometheus (<c>prometheus: {address, query, timeout}</c>) or JSON (<c>json: {url, jsonPath, headers, timeout}</c>)
    /// metric; and an optional statistical <c>judge</c>.
    /// </summary>
    public static AnalysisSpec? MapAnalysis(ConfigObject c)
    {
        var metrics = new List<MetricSpec>();
        foreach (var (node, path) in c.List("metrics") ?? [])
        {
            if (node is not JsonObject metricObject)
            {
                c.Errors.Add($"{path}: must be an object with name and metric, not {ConfigObject.Describe(node)}.");
                continue;
            }

            var m = new ConfigObject(metricObject, path, c.Errors);
            var metricName = m.String("name", required: true);
            var query = MapQuery(m);
            var d = new MetricSpec { Name = "-", Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) };
            var count = m.Int("count", 1);
            var interval = m.Duration("interval");
            var initialDelay = m.Duration("initialDelay");
            var success = m.Object("successCondition") is { } s ? MapCondition(s) : null;
            var failure = m.Object("failureCondition") is { } f ? MapCondition(f) : null;
            var failureLimit = m.Int("failureLimit", 0);
            var inconclusiveLimit = m.Int("inconclusiveLimit", 0);
            var consecutiveErrorLimit = m.Int("consecutiveErrorLimit", 0);
            m.RejectUnknown();
            if (metricName is not null && query is not null)
            {
                metrics.Add(new MetricSpec
                {
                    Name = metricName,
                    Query = query,
                    Count = count ?? d.Count,
                    Interval = interval ?? d.Interval,
                    InitialDelay = initialDelay ?? d.InitialDelay,
                    SuccessCondition = success,
                    FailureCondition = failure,
                    FailureLimit = failureLimit ?? d.FailureLimit,
                    InconclusiveLimit = inconclusiveLimit ?? d.InconclusiveLimit,
                    ConsecutiveErrorLimit = consecutiveErrorLimit ?? d.ConsecutiveErrorLimit,
                });
            }
        }

        var name = c.String("name");
        var judge = c.Object("judge") is { } j2 ? MapJudge(j2) : null;
        c.RejectUnknown();
        return new AnalysisSpec { Name = name ?? "analysis", Metrics = metrics, Judge = judge };
    }

    /// <summary>
    /// What a metric measures: <c>prometheus: { address, query, timeout }</c>, <c>json: { url, jsonPath, headers, timeout }</c>,
    /// or a built-in <c>metric</c> with <c>revision</c>, <c>requests</c> and <c>path</c> — for an analysis's metrics and
    /// an autoscaler's alike. Problems go to <paramref name="m"/>'s list; <see langword="null"/> when the query is unusable.
    /// </summary>
    public static MetricQuery? MapQuery(ConfigObject m)
    {
        MetricQuery? query = null;
        if (m.Has("prometheus"))
        {
            // `prometheus: ~` or `prometheus: text` is reported by Object; only an object is read further.
            if (m.Object("prometheus", required: true) is { } p)
            {
                var address = p.Url("address", required: true);
                var promQuery = p.String("query", required: true);
                var timeout = p.Duration("timeout");
                p.RejectUnknown();
                if (address is not null && promQuery is not null)
                {
                    var defaults = new PrometheusMetricQuery(address, promQuery);
                    query = defaults with { Timeout = timeout ?? defaults.Timeout };
                }
            }
        }
        else if (m.Has("json"))
        {
            if (m.Object("json", required: true) is { } j)
            {
                var url = j.Url("url", required: true);
                var jsonPath = j.String("jsonPath", required: true);
                var headers = j.StringMap("headers");
                var timeout = j.Duration("timeout");
                j.RejectUnknown();
                if (url is not null && jsonPath is not null)
                {
                    var defaults = new JsonMetricQuery(url, jsonPath);
                    query = defaults with { Headers = headers ?? defaults.Headers, Timeout = timeout ?? defaults.Timeout };
                }
            }
        }
        else
        {
            var builtIn = m.Enum<BuiltInMetric>("metric", required: true);
            var revision = m.Enum<AnalysisRevision>("revision");
            var requests = m.Int("requests", 1);
            var requestPath = m.String("path");
            if (builtIn is { } b)
            {
                var defaults = new BuiltInMetricQuery(b);
                query = new BuiltInMetricQuery(b) { Revision = revision ?? defaults.Revision, Requests = requests ?? defaults.Requests, Path = requestPath ?? defaults.Path };
            }
        }

        return query;
    }

    /// <summary>
    /// <c>judge: { samplesPerRevision, minimumSampleSize, confidence, allowedLatencyIncrease, allowedErrorRateIncrease,
    /// latencyWeight, errorRateWeight, marginalScore, passScore, path }</c>: the statistical comparison of the new
    /// revision with the stable one. <c>judge: {}</c> uses every default.
    /// </summary>
    private static StatisticalJudgeSpec MapJudge(ConfigObject c)
    {
        var d = new StatisticalJudgeSpec();
        var judge = new StatisticalJudgeSpec
        {
            SamplesPerRevision = c.Int("samplesPerRevision", 1) ?? d.SamplesPerRevision,
            MinimumSampleSize = c.Int("minimumSampleSize", 1) ?? d.MinimumSampleSize,
            Confidence = c.Number("confidence") ?? d.Confidence,
            AllowedLatencyIncrease = c.Number("allowedLatencyIncrease") ?? d.AllowedLatencyIncrease,
            AllowedErrorRateIncrease = c.Number("allowedErrorRateIncrease") ?? d.AllowedErrorRateIncrease,
            LatencyWeight = c.Number("latencyWeight") ?? d.LatencyWeight,
            ErrorRateWeight = c.Number("errorRateWeight") ?? d.ErrorRateWeight,
            MarginalScore = c.Number("marginalScore") ?? d.MarginalScore,
            PassScore = c.Number("passScore") ?? d.PassScore,
            Path = c.String("path") ?? d.Path,
        };
        c.RejectUnknown();
        return judge;
    }

    private static MetricCondition? MapCondition(ConfigObject c)
    {
        var min = c.Number("min");
        var max = c.Number("max");
        c.RejectUnknown();
        return new MetricCondition(min, max);
    }

    public static ApprovalGate? MapGate(ConfigObject c)
    {
        var d = new ApprovalGate { Name = "-" };
        var name = c.String("name", required: true);
        var gate = new ApprovalGate
        {
            Name = name ?? "-",
            RequiredApprovals = c.Int("requiredApprovals", 1) ?? d.RequiredApprovals,
            ApproverMustDifferFromRequester = c.Bool("approverMustDifferFromRequester") ?? d.ApproverMustDifferFromRequester,
            Timeout = c.Duration("timeout"),
            Escalation = c.Enum<GateEscalation>("escalation") ?? d.Escalation,
            Webhook = c.Url("webhook"),
            WebhookInterval = c.Duration("webhookInterval") ?? d.WebhookInterval,
        };
        c.RejectUnknown();
        return name is null ? null : gate;
    }
}
