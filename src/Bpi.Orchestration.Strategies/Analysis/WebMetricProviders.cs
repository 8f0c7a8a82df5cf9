using System.Globalization;
using System.Text.Json;
using Bpi.Orchestration.Strategies.Telemetry;

namespace Bpi.Orchestration.Strategies.Analysis;

/// <summary>Measures <see cref="PrometheusMetricQuery"/>: an instant query against the Prometheus HTTP API.</summary>
internal sealed class PrometheusMetricProvider(StrategiesHttp http) : IMetricProvider
{
    public bool CanMeasure(MetricQuery query) => query is PrometheusMetricQuery;

    public async ValueTask<double> MeasureAsync(MetricQuery query, AnalysisContext context, CancellationToken cancellationToken = default)
    {
        var q = (PrometheusMetricQuery)query;
        var promql = context.Expand(q.Query);
        var url = new Uri(q.Address, "api/v1/query?query=" + Uri.EscapeDataString(promql));
        using var document = await WebJson.GetAsync(http, url, new Dictionary<string, string>(), q.Timeout, cancellationToken).ConfigureAwait(false);
        return Parse(document.RootElement, promql);
    }

    internal static double Parse(JsonElement root, string promql)
    {
        if (!root.TryGetProperty("status", out var status) || status.GetString() != "success")
        {
            var error = root.TryGetProperty("error", out var e) ? e.GetString() : "no status";
            throw new OrchestrationException(OrchestrationErrorKind.DeploymentFailed, $"Prometheus refused the query '{promql}': {error}.");
        }

        var data = root.GetProperty("data");
        var type = data.GetProperty("resultType").GetString();
        var result = data.GetProperty("result");
        JsonElement sample = type switch
        {
            "scalar" => result,
            "vector" when result.GetArrayLength() > 0 => result[0].GetProperty("value"),
            "vector" => throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"The query '{promql}' returned no series (no data yet?)."),
            _ => throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The query '{promql}' returned a {type}; use a query that returns a scalar or an instant vector."),
        };
        return WebJson.ToNumber(sample[1], "the sample value");
    }
}

/// <summary>Measures <see cref="JsonMetricQuery"/>: a GET of a JSON document and a value at a JSON path.</summary>
internal sealed class JsonMetricProvider(StrategiesHttp http) : IMetricProvider
{
    public bool CanMeasure(MetricQuery query) => query is JsonMetricQuery;

    public async ValueTask<double> MeasureAsync(MetricQuery query, AnalysisContext context, CancellationToken cancellationToken = default)
    {
        var q = (JsonMetricQuery)query;
        var url = new Uri(context.Expand(q.Url.OriginalString));
        using var document = await WebJson.GetAsync(http, url, q.Headers, q.Timeout, cancellationToken).ConfigureAwait(false);
        return WebJson.ToNumber(JsonPath.Select(document.RootElement, q.JsonPath), q.JsonPath);
    }
}

/// <summary>A small JSON path: <c>$</c>, <c>.name</c>, <c>['name']</c> and <c>[index]</c>.</summary>
internal static class JsonPath
{
    public static JsonElement Select(JsonElement root, string path)
    {
        var current = root;
        var i = path.StartsWith('$') ? 1 : 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = i + 1;
                while (end < path.Length && path[end] != '.' && path[end] != '[')
                {
                    end++;
                }

                current = Property(current, path[(i + 1)..end], path);
                i = end;
            }
            else if (path[i] == '[')
            {
                var close = path.IndexOf(']', i);
                if (close < 0)
                {
                    throw Bad(path, "an unclosed '['");
                }

                var inner = path[(i + 1)..close].Trim();
                if (inner.Length >= 2 && (inner[0] == '\'' || inner[0] == '"'))
                {
                    current = Property(current, inner[1..^1], path);
                }
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    if (current.ValueKind != JsonValueKind.Array || index >= current.GetArrayLength())
                    {
                        throw Bad(path, string.Create(CultureInfo.InvariantCulture, $"no element [{index}]"));
                    }

                    current = current[index];
                }
                else
                {
                    throw Bad(path, $"'[{inner}]' is neither an index nor a quoted name");
                }

                i = close + 1;
            }
            else
            {
                throw Bad(path, $"unexpected '{path[i]}'");
            }
        }

        return current;
    }

    private static JsonElement Property(JsonElement element, string name, string path)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value
            : throw Bad(path, $"no property '{name}'");

    private static OrchestrationException Bad(string path, string problem)
        => new(OrchestrationErrorKind.NotFound, $"The JSON path '{path}' does not match the document: {problem}.");
}

/// <summary>Shared GET-and-parse for web metric providers.</summary>
internal static class WebJson
{
    public static async Task<JsonDocument> GetAsync(StrategiesHttp http, Uri url, IReadOnlyDictionary<string, string> headers, TimeSpan timeout, CancellationToken cancellationToken)
    {
        return await http.Retry.ExecuteAsync(
            async ct =>
            {
                using var cts = StrategiesHttp.NetworkTimeout(timeout);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, cts.Token);
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Accept.ParseAdd("application/json");
                foreach (var (name, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                using var response = await http.Client.SendAsync(request, linked.Token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"{url.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode} {response.ReasonPhrase}"), null, response.StatusCode);
                }

                var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    return await JsonDocument.ParseAsync(stream, default, linked.Token).ConfigureAwait(false);
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    public static double ToNumber(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.True => 1,
        JsonValueKind.False => 0,
        JsonValueKind.String when double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
        JsonValueKind.String when value.GetString() is "NaN" => double.NaN,
        _ => throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"{what} is {value.ValueKind} ({value.GetRawText()}), not a number."),
    };
}
