using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Canary;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Storage;

/// <summary>A progressive strategy's spec survives a durable store: a restarted orchestrator resumes the same plan.</summary>
public sealed class StrategySpecStorageTests
{
    [Fact]
    public async Task A_canary_with_every_step_kind_and_every_metric_query_round_trips_through_the_file_store()
    {
        var analysis = new AnalysisSpec
        {
            Metrics =
            [
                new MetricSpec { Name = "success", Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 20 }, SuccessCondition = new MetricCondition(0.95, null) },
                new MetricSpec { Name = "errors", Query = new PrometheusMetricQuery(new Uri("http://prometheus.local:9090"), "sum(rate(errors[1m]))"), FailureCondition = new MetricCondition(null, 0.1) },
                new MetricSpec { Name = "p99", Query = new JsonMetricQuery(new Uri("http://metrics.local/p99"), "$.latency.p99"), Count = 3 },
            ],
        };
        var canary = new CanaryStrategySpec
        {
            Steps =
            [
                new CanaryStep.SetWeight(20),
                new CanaryStep.Pause(TimeSpan.FromMinutes(2)),
                new CanaryStep.Analyze(analysis),
                new CanaryStep.Approval(new ApprovalGate { Name = "prod", RequiredApprovals = 2, Timeout = TimeSpan.FromHours(1) }),
                new CanaryStep.Pause(null),
                new CanaryStep.SetWeight(100),
            ],
        };
        var spec = Specs.Web(3, "web:2", canary);
        var now = DateTimeOffset.Parse("2026-11-30T03:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var record = new DeploymentRecord
        {
            Id = "web-12345678",
            State = DeploymentState.Running,
            Revisions = [new RevisionSpec(1, spec)],
            CreatedAt = now,
            UpdatedAt = now,
            CreatedBy = "alice",
        };
        var directory = Directory.CreateTempSubdirectory("bpi-strategy-store-").FullName;
        try
        {
            var store = new FileDeploymentStore(directory);
            await store.SaveAsync(record);

            var read = await new FileDeploymentStore(directory).GetAsync(record.Id);

            var readCanary = Assert.IsType<CanaryStrategySpec>(read!.Revisions[0].Spec.Strategy);
            Assert.Equal(canary.Steps.Count, readCanary.Steps.Count);
            Assert.Equal(canary.Steps[0], readCanary.Steps[0]);
            Assert.Equal(canary.Steps[1], readCanary.Steps[1]);
            Assert.Equal(canary.Steps[3], readCanary.Steps[3]);
            Assert.Equal(canary.Steps[4], readCanary.Steps[4]);
            var readAnalysis = Assert.IsType<CanaryStep.Analyze>(readCanary.Steps[2]).Analysis;
            Assert.Equal(analysis.Metrics[0].Query, readAnalysis.Metrics[0].Query);
            Assert.Equal(analysis.Metrics[1].Query, readAnalysis.Metrics[1].Query);
            var json = Assert.IsType<JsonMetricQuery>(readAnalysis.Metrics[2].Query);
            Assert.Equal((new Uri("http://metrics.local/p99"), "$.latency.p99"), (json.Url, json.JsonPath));
            Assert.Equal(analysis.Metrics.Select(m => (m.Name, m.Count, m.SuccessCondition, m.FailureCondition)), readAnalysis.Metrics.Select(m => (m.Name, m.Count, m.SuccessCondition, m.FailureCondition)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
