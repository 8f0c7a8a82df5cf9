using System.Globalization;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Checks;
using Bpi.Orchestration.Security.Compliance;
using Bpi.Orchestration.Security.Monitoring;
using Bpi.Orchestration.Security.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Security.Gate;

/// <summary>A security gate's decision with the assessment behind it.</summary>
/// <param name="Passed">Whether the deployment may proceed.</param>
/// <param name="Assessment">The assessment of the spec.</param>
/// <param name="Reasons">Why it was refused (empty when it passed): score below the minimum, blocking findings, image policy.</param>
public sealed record SecurityGateDecision(bool Passed, SecurityAssessment Assessment, IReadOnlyList<string> Reasons)
{
    /// <summary>The decision in Core's terms: the reasons first, then every finding.</summary>
    /// <returns>The gate result the orchestrator acts on.</returns>
    public SecurityGateResult ToResult() => new(Passed, Assessment.Score, [.. Reasons, .. Assessment.Findings.Select(f => f.ToString())]);
}

/// <summary>
/// The Security package's <see cref="ISecurityGate"/>: assesses a spec under its environment's
/// <see cref="SecurityEnvironmentPolicy"/> and refuses it when the score is below the minimum, when a finding is of a
/// blocking severity, or when the image policy (digest pinning, signatures) is not met. The orchestrator then throws
/// <see cref="OrchestrationErrorKind.SecurityValidationFailed"/> listing the reasons and findings. Every decision is
/// published as a <see cref="SecurityEvent"/> and counted in metrics.
/// </summary>
public sealed class SecurityGate : ISecurityGate
{
    private readonly SecurityAssessor _assessor;
    private readonly SecurityEventHub _events;
    private readonly SecurityTelemetry _telemetry;
    private readonly ComplianceCatalog? _compliance;
    private readonly ILogger _logger;

    internal SecurityGate(SecurityAssessor assessor, SecurityEventHub events, SecurityTelemetry telemetry, ComplianceCatalog? compliance, ILogger? logger)
    {
        _assessor = assessor;
        _events = events;
        _telemetry = telemetry;
        _compliance = compliance;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public async ValueTask<SecurityGateResult> EvaluateAsync(DeploymentSpec spec, CancellationToken cancellationToken = default)
        => (await DecideAsync(spec, cancellationToken).ConfigureAwait(false)).ToResult();

    /// <summary>Assesses a spec and decides, keeping the full assessment (for a CLI's <c>security scan</c>, for example).</summary>
    /// <param name="spec">The spec.</param>
    /// <param name="cancellationToken">Cancels the assessment.</param>
    /// <returns>The decision.</returns>
    public async ValueTask<SecurityGateDecision> DecideAsync(DeploymentSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var assessment = await _assessor.AssessAsync(spec, cancellationToken).ConfigureAwait(false);
        var decision = Judge(assessment, _assessor.Options.GetPolicy(spec.Environment));
        _telemetry.RecordAssessment(assessment, _compliance);
        _telemetry.RecordGate(spec.Environment, decision.Passed);
        if (decision.Passed)
        {
            Log.GatePassed(_logger, spec.Name, spec.Environment, assessment.Score, assessment.Findings.Count);
        }
        else
        {
            Log.GateRefused(_logger, spec.Name, spec.Environment, assessment.Score, string.Join(" | ", decision.Reasons));
        }

        _events.Publish(new SecurityEvent(
            decision.Passed ? SecurityEventKind.GatePassed : SecurityEventKind.GateRefused,
            assessment.AssessedAt,
            spec.Name,
            null,
            assessment.Score,
            null,
            decision.Passed ? $"gate passed with {assessment.Findings.Count} finding(s)" : string.Join("; ", decision.Reasons)));
        return decision;
    }

    /// <summary>Decides on an assessment under a policy.</summary>
    /// <param name="assessment">The assessment.</param>
    /// <param name="policy">The environment's policy.</param>
    /// <returns>The decision and every reason for a refusal.</returns>
    public static SecurityGateDecision Judge(SecurityAssessment assessment, SecurityEnvironmentPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        ArgumentNullException.ThrowIfNull(policy);
        var reasons = new List<string>();
        if (assessment.Score < policy.MinimumScore)
        {
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"score {Math.Floor(assessment.Score * 10) / 10:0.0} is below the minimum {policy.MinimumScore:0.0} of environment '{assessment.Environment}'"));
        }

        if (policy.BlockingSeverity is { } blocking)
        {
            foreach (var finding in assessment.Findings.Where(f => f.Severity >= blocking))
            {
                reasons.Add($"{finding.CheckId} is {finding.Severity}, and {blocking} or higher blocks in environment '{assessment.Environment}'");
            }
        }

        if (policy.RequireDigestPinning && assessment.ResultOf("BPI-SEC-026") is { Outcome: CheckOutcome.Failed } unpinned)
        {
            reasons.Add($"environment '{assessment.Environment}' requires images pinned by digest: " + string.Join("; ", unpinned.Observations.Where(o => o.Outcome == CheckOutcome.Failed).Select(o => o.Subject + ": " + o.Evidence)));
        }

        if (policy.RequireSignedImages && assessment.ResultOf("BPI-SEC-028") is { Outcome: not CheckOutcome.Passed } unsigned)
        {
            reasons.Add($"environment '{assessment.Environment}' requires signed images: " + string.Join("; ", unsigned.Observations.Where(o => o.Outcome != CheckOutcome.Passed).Select(o => o.Subject + ": " + o.Evidence)));
        }

        return new SecurityGateDecision(reasons.Count == 0, assessment, reasons);
    }
}
