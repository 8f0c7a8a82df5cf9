using Bpi.Orchestration.Security.Assessment;

namespace Bpi.Orchestration.Security.Monitoring;

/// <summary>What a <see cref="SecurityEvent"/> reports.</summary>
public enum SecurityEventKind
{
    /// <summary>The gate let a spec through.</summary>
    GatePassed = 0,

    /// <summary>The gate refused a spec.</summary>
    GateRefused,

    /// <summary>A running deployment was (re-)assessed.</summary>
    Assessed,

    /// <summary>A re-assessment found a finding the previous one did not have (for example drift of a running container).</summary>
    FindingDetected,

    /// <summary>A finding of the previous assessment is gone.</summary>
    FindingResolved,
}

/// <summary>A security event: a gate decision, an assessment, or a finding appearing or disappearing.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Timestamp">When.</param>
/// <param name="Target">The deployment's name.</param>
/// <param name="DeploymentId">The deployment's id, when it exists.</param>
/// <param name="Score">The score of the assessment behind the event.</param>
/// <param name="Finding">The finding, for <see cref="SecurityEventKind.FindingDetected"/> and <see cref="SecurityEventKind.FindingResolved"/>.</param>
/// <param name="Message">A sentence describing the event. Never holds a secret value.</param>
public sealed record SecurityEvent(SecurityEventKind Kind, DateTimeOffset Timestamp, string Target, string? DeploymentId, double Score, SecurityFinding? Finding, string Message);
