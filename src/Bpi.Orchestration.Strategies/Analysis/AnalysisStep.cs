using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Health;
using Bpi.Orchestration.Strategies.Telemetry;

namespace Bpi.Orchestration.Strategies.Analysis;

/// <summary>Runs an analysis of a component's new revision (against its stable revision, if any).</summary>
/// <param name="Analysis">The analysis.</param>
/// <param name="ComponentId">The component under analysis.</param>
/// <param name="CanaryRevision">The revision being rolled out.</param>
/// <param name="StableRevision">The revision serving before, if any.</param>
public sealed record AnalysisStep(AnalysisSpec Analysis, string ComponentId, int CanaryRevision, int? StableRevision) : RolloutStep
{
    /// <summary>What the analysis is for, for people (for example <c>pre-promotion</c>).</summary>
    public string? Purpose { get; init; }

    /// <inheritdoc />
    public override string Kind => "analysis";

    /// <inheritdoc />
    public override string Describe()
        => string.Create(CultureInfo.InvariantCulture, $"run {(Purpose is null ? "" : Purpose + " ")}analysis '{Analysis.Name}' of {ComponentId} revision {CanaryRevision}")
           + (StableRevision is { } s ? string.Create(CultureInfo.InvariantCulture, $" against revision {s}") : "")
           + $" ({string.Join(", ", Analysis.Metrics.Select(m => m.Name).Concat(Analysis.Judge is null ? [] : ["judge"]))})";
}

/// <summary>
/// Executes <see cref="AnalysisStep"/>: Successful continues; Failed and Error fail the step (the rollout is rolled back);
/// Inconclusive pauses the rollout for a person (resume continues, abort rolls back). Every run is audited.
/// </summary>
internal sealed class AnalysisHandler(AnalysisRunner runner, IAuditSink audit, StrategiesTelemetry telemetry) : RolloutStepHandler<AnalysisStep>
{
    protected override async ValueTask ExecuteAsync(AnalysisStep step, RolloutStepContext context, CancellationToken cancellationToken)
    {
        var analysisContext = new AnalysisContext(context.DeploymentId, step.ComponentId, step.CanaryRevision, step.StableRevision, context);
        var started = context.TimeProvider.GetTimestamp();
        var result = await HealthGuard.GuardAsync(context, ct => runner.RunAsync(step.Analysis, analysisContext, ct), cancellationToken).ConfigureAwait(false);
        telemetry.RecordAnalysis(result.Phase, context.TimeProvider.GetElapsedTime(started));
        Log.AnalysisCompleted(context.Logger, context.DeploymentId, step.Analysis.Name, result.Phase.ToString(), result.Summary);
        await audit.AppendAsync(
            new AuditEvent(context.TimeProvider.GetUtcNow(), OrchestrationActor.System.Id, "analysis.run", context.DeploymentId, result.Phase.ToString().ToLowerInvariant(), new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["analysis"] = step.Analysis.Name,
                ["component"] = step.ComponentId,
                ["revision"] = step.CanaryRevision.ToString(CultureInfo.InvariantCulture),
                ["stable.revision"] = step.StableRevision?.ToString(CultureInfo.InvariantCulture),
                ["summary"] = result.Summary,
                ["judge.score"] = result.Judge?.Score.ToString("0.#", CultureInfo.InvariantCulture),
            }),
            CancellationToken.None).ConfigureAwait(false);
        context.ReportProgress($"analysis '{step.Analysis.Name}': {result.Phase}: {result.Summary}");

        switch (result.Phase)
        {
            case AnalysisPhase.Successful:
                return;
            case AnalysisPhase.Inconclusive:
                await context.PauseForDecisionAsync($"analysis '{step.Analysis.Name}' is inconclusive ({result.Summary}); resume to continue or abort to roll back", cancellationToken).ConfigureAwait(false);
                return;
            default:
                throw new OrchestrationException(
                    OrchestrationErrorKind.DeploymentFailed,
                    $"Analysis '{step.Analysis.Name}' of revision {step.CanaryRevision.ToString(CultureInfo.InvariantCulture)} ended {result.Phase}: {result.Summary}.");
        }
    }
}
