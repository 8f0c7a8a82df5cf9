using Bpi.Orchestration.State;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.TestUtilities;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Autoscaling;

/// <summary>The autoscaler driven by a <see cref="MetricQuery"/> through the registered metric providers: a Prometheus query served over HTTP.</summary>
public sealed class MetricProviderAutoscalingTests
{
    private static DeploymentSpec Autoscaled(MetricQuery query, int replicas = 1)
    {
        var spec = Specs.Web(replicas: replicas);
        return spec with
        {
            Components =
            [
                spec.Components[0] with
                {
                    Autoscaling = new AutoscalingSpec { MaxReplicas = 8, Metrics = [new AutoscalingMetric { Name = "rps", Query = query, TargetAverageValue = 100 }] },
                },
            ],
        };
    }

    [Fact]
    public async Task A_Prometheus_query_drives_the_replica_count_with_the_serving_revision_filled_in()
    {
        using var prometheus = new LoopbackHttpServer((_, _) => (200, """{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1767225600.0,"350"]}]}}"""));
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Autoscaled(new PrometheusMetricQuery(prometheus.Url, "sum(rate(http_requests_total{deployment=\"{{deployment}}\",revision=\"{{revision}}\"}[1m]))")));
        await host.SettleAsync(id);

        // 350 requests per second against 100 per instance: ceil(350 / 100) = 4.
        host.Clock.Advance(new OrchestrationOptions().AutoscalingInterval);
        var scaled = await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.Autoscaling.Count == 1 && s.Autoscaling[0].Scaled, "the scale-out");

        var reading = Assert.Single(scaled.Autoscaling[0].Metrics);
        Assert.Equal(("rps", 350.0, 100.0, 4), (reading.Name, reading.Value, reading.Target, reading.ProposedReplicas));
        Assert.Equal(4, (await host.SettleAsync(id)).Components[0].DesiredReplicas);
        Assert.Equal("/api/v1/query?query=" + Uri.EscapeDataString($"sum(rate(http_requests_total{{deployment=\"{id}\",revision=\"1\"}}[1m]))"), prometheus.Paths[0]);
    }

    [Fact]
    public async Task A_Prometheus_that_answers_errors_is_skipped_and_the_count_is_kept()
    {
        using var prometheus = new LoopbackHttpServer((_, _) => (400, """{"status":"error","errorType":"bad_data","error":"parse error"}"""));
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Autoscaled(new PrometheusMetricQuery(prometheus.Url, "up{"), replicas: 2));
        await host.SettleAsync(id);

        host.Clock.Advance(new OrchestrationOptions().AutoscalingInterval);
        var status = await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.Autoscaling.Count == 1, "a decision");

        Assert.False(status.Autoscaling[0].Scaled);
        Assert.StartsWith("no metric could be read: rps: ", status.Autoscaling[0].Reason, StringComparison.Ordinal);
        Assert.Contains("400", status.Autoscaling[0].Reason, StringComparison.Ordinal);
        Assert.Equal(2, status.Components[0].DesiredReplicas);
    }

    [Fact]
    public async Task A_metric_query_is_stored_by_kind_and_read_back_and_one_no_provider_measures_is_refused()
    {
        var spec = Autoscaled(new PrometheusMetricQuery(new Uri("http://prometheus:9090"), "sum(up)"));
        var record = new DeploymentRecord { Id = "web-1a2b", State = DeploymentState.Running, Revisions = [new Bpi.Orchestration.Rollout.RevisionSpec(1, spec)], CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch, CreatedBy = "me" };
        var json = System.Text.Encoding.UTF8.GetString(DeploymentJson.Serialize(record));
        Assert.Contains("\"kind\": \"metric\"", json, StringComparison.Ordinal);
        Assert.Contains("\"$kind\": \"prometheus\"", json, StringComparison.Ordinal);
        Assert.Equal(spec.Components[0].Autoscaling, DeploymentJson.Deserialize(DeploymentJson.Serialize(record)).Revisions[0].Spec.Components[0].Autoscaling);

        await using var host = new TestHost();
        var error = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(Autoscaled(new UnmeasuredQuery())));
        Assert.Contains("components[0] (web).autoscaling.metrics[0].query: no registered metric source measures a UnmeasuredQuery", Assert.Single(error.Errors), StringComparison.Ordinal);
    }

    private sealed record UnmeasuredQuery : MetricQuery
    {
        public override string Describe() => "nothing";
    }
}
