using System.Net;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Telemetry;
using Bpi.Orchestration.Strategies.Tests.Canary;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Analysis;

public sealed class WebMetricProviderTests
{
    private static readonly AnalysisContext Context = new("web-1a2b", "web", 3, 2, null!);

    [Fact]
    public async Task Prometheus_instant_queries_are_expanded_and_the_first_sample_is_the_value()
    {
        using var server = new LoopbackHttpServer((_, _) => (200, """{"status":"success","data":{"resultType":"vector","result":[{"metric":{"revision":"3"},"value":[1767225600.0,"0.987"]}]}}"""));
        using var http = new StrategiesHttp();

        var value = await new PrometheusMetricProvider(http).MeasureAsync(new PrometheusMetricQuery(server.Url, "sum(rate(ok{deployment=\"{{deployment}}\",revision=\"{{revision}}\"}[1m]))"), Context);

        Assert.Equal(0.987, value);
        Assert.Equal("/api/v1/query?query=" + Uri.EscapeDataString("sum(rate(ok{deployment=\"web-1a2b\",revision=\"3\"}[1m]))"), server.Paths[0]);
    }

    [Fact]
    public async Task Prometheus_errors_and_empty_results_are_measurement_errors_with_the_reason()
    {
        using var empty = new LoopbackHttpServer((_, _) => (200, """{"status":"success","data":{"resultType":"vector","result":[]}}"""));
        using var refused = new LoopbackHttpServer((_, _) => (400, """{"status":"error","errorType":"bad_data","error":"parse error"}"""));
        using var http = new StrategiesHttp();
        var provider = new PrometheusMetricProvider(http);

        var none = await Assert.ThrowsAsync<OrchestrationException>(async () => await provider.MeasureAsync(new PrometheusMetricQuery(empty.Url, "up"), Context));
        var bad = await Assert.ThrowsAnyAsync<Exception>(async () => await provider.MeasureAsync(new PrometheusMetricQuery(refused.Url, "up{"), Context));

        Assert.Contains("returned no series", none.Message, StringComparison.Ordinal);
        Assert.Contains("400", bad.Message, StringComparison.Ordinal);
        Assert.Single(refused.Paths); // a 4xx is not retried
    }

    [Fact]
    public async Task A_JSON_endpoint_value_is_read_at_its_path_with_the_headers()
    {
        string? auth = null;
        using var server = new LoopbackHttpServer((request, _) =>
        {
            auth ??= request.Headers["Authorization"];
            return (200, """{"data":{"series":[{"name":"errors","value":"0.25"},{"name":"ok","value":7}],"healthy":true}}""");
        });
        using var http = new StrategiesHttp();
        var provider = new JsonMetricProvider(http);
        var headers = new Dictionary<string, string> { ["Authorization"] = "Bearer t0ken" };

        var first = await provider.MeasureAsync(new JsonMetricQuery(new Uri(server.Url, "/stats/{{revision}}"), "$.data.series[0].value") { Headers = headers }, Context);
        var second = await provider.MeasureAsync(new JsonMetricQuery(server.Url, "$.data.series[1]['value']"), Context);
        var flag = await provider.MeasureAsync(new JsonMetricQuery(server.Url, "$.data.healthy"), Context);
        var missing = await Assert.ThrowsAsync<OrchestrationException>(async () => await provider.MeasureAsync(new JsonMetricQuery(server.Url, "$.data.nope"), Context));

        Assert.Equal((0.25, 7.0, 1.0), (first, second, flag));
        Assert.Equal("/stats/3", server.Paths[0]);
        Assert.Equal("Bearer t0ken", auth);
        Assert.Contains("no property 'nope'", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_canary_whose_Prometheus_error_rate_is_above_the_limit_is_rolled_back()
    {
        using var server = new LoopbackHttpServer((_, _) => (200, """{"status":"success","data":{"resultType":"scalar","result":[1767225600.0,"0.2"]}}"""));
        await using var host = CanaryRolloutTests.NewHost();
        var analysis = new AnalysisSpec
        {
            Name = "prometheus",
            Metrics = [new MetricSpec { Name = "error-rate", Query = new PrometheusMetricQuery(server.Url, "errors"), FailureCondition = MetricCondition.Above(0.05) }],
        };
        var strategy = new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(20), new CanaryStep.Analyze(analysis)] };
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", strategy));
        await host.SettleAsync(id);

        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", strategy));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("error-rate Failed (values 0.2", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_Prometheus_that_keeps_answering_503_opens_its_circuit_and_is_not_asked_again_during_the_break()
    {
        using var server = new LoopbackHttpServer((_, _) => (503, """{"status":"error","error":"overloaded"}"""));
        await using var host = CanaryRolloutTests.NewHost(extra: b => b.Services.Configure<OrchestrationOptions>(o =>
        {
            // The drive loop moves the manual clock in large steps: a day-long window and break keep every measurement in them.
            o.CircuitBreaking.MinimumThroughput = 2;
            o.CircuitBreaking.SamplingDuration = TimeSpan.FromDays(1);
            o.CircuitBreaking.BreakDuration = TimeSpan.FromDays(1);
        }));
        var analysis = new AnalysisSpec
        {
            Name = "prometheus",
            Metrics = [new MetricSpec { Name = "error-rate", Query = new PrometheusMetricQuery(server.Url, "errors"), FailureCondition = MetricCondition.Above(0.05), Count = 10, Interval = TimeSpan.FromSeconds(10), ConsecutiveErrorLimit = 20 }],
        };
        var strategy = new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(20), new CanaryStep.Analyze(analysis)] };
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", strategy));
        await host.SettleAsync(id);

        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", strategy));
        var status = await host.SettleAsync(id);

        // Two measurements of three requests each (the HTTP retries) open the circuit; the other eight fail fast.
        var breakers = (await host.Vm.GetStateAsync()).CircuitBreakers;
        Assert.True(server.Paths.Count == 6, $"{server.Paths.Count} requests; breakers: {string.Join("; ", breakers)}; {status.Message}");
        Assert.Equal(DeploymentState.RolledBack, status.State);
        var breaker = breakers.Single(b => b.Target == "metrics:prometheus");
        Assert.Equal(Bpi.Orchestration.Resilience.CircuitBreakerState.Open, breaker.State);
        Assert.Contains("503", breaker.LastFailure, StringComparison.Ordinal);
    }
}
