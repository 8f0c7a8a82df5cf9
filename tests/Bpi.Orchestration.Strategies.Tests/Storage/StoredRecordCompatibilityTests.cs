using System.Text.Json;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Rolling;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Storage;

/// <summary>
/// <c>TestData/record-v1.json</c> was written by the store format of 2026-12-04 (strategy specs named by their .NET
/// type): rolling, blue-green and canary revisions, with the cursor on the canary's approval step. Records stored then
/// must still load, with the same specs, and resume at the same step.
/// </summary>
public sealed class StoredRecordCompatibilityTests
{
    private static readonly AnalysisSpec Analysis = new()
    {
        Metrics = [new MetricSpec { Name = "success", Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 20 }, SuccessCondition = new MetricCondition(0.95, null) }],
    };

    private static DeploymentRecord LoadV1()
        => DeploymentJson.Deserialize(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Storage", "TestData", "record-v1.json")));

    [Fact]
    public void A_record_stored_in_the_v1_format_loads_with_the_same_strategy_specs()
    {
        var record = LoadV1();

        AssertSameSpec(new RollingStrategySpec { MaxSurge = IntOrPercent.Count(1), MaxUnavailable = IntOrPercent.Percent(10), PauseBetweenBatches = TimeSpan.FromSeconds(5) }, record.Revisions[0].Spec.Strategy);
        AssertSameSpec(new BlueGreenStrategySpec { PreviewReplicas = 1, Promotion = BlueGreenPromotion.Manual, ScaleDownDelay = TimeSpan.FromMinutes(2), PrePromotionAnalysis = Analysis }, record.Revisions[1].Spec.Strategy);
        AssertSameSpec(
            new CanaryStrategySpec
            {
                Steps =
                [
                    new CanaryStep.SetWeight(20),
                    new CanaryStep.Analyze(Analysis),
                    new CanaryStep.Approval(new ApprovalGate { Name = "prod", RequiredApprovals = 2, Timeout = TimeSpan.FromHours(1), Escalation = GateEscalation.NotifyAndWait, ApproverMustDifferFromRequester = true }),
                    new CanaryStep.SetWeight(100),
                ],
            },
            record.Revisions[2].Spec.Strategy);
    }

    [Fact]
    public void A_v1_cursor_on_an_approval_step_resumes_at_the_same_approval_gate()
    {
        var record = LoadV1();
        var cursor = record.Cursor!;

        var plan = new CanaryStrategy().Plan(new RolloutContext(record.Id, record.FindRevision(2), record.FindRevision(3)!, HasTrafficRouter: true));

        Assert.Equal(cursor.TotalSteps, plan.Steps.Count);
        Assert.Equal("prod", Assert.IsType<AwaitApprovalStep>(plan.Steps[cursor.StepIndex]).Gate.Name);
    }

    private static void AssertSameSpec(StrategySpec expected, StrategySpec actual)
    {
        Assert.IsType(expected.GetType(), actual);
        Assert.Equal(JsonSerializer.Serialize(expected, expected.GetType(), DeploymentJson.Options), JsonSerializer.Serialize(actual, actual.GetType(), DeploymentJson.Options));
    }
}
