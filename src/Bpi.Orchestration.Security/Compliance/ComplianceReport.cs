using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Checks;

namespace Bpi.Orchestration.Security.Compliance;

/// <summary>What the automated checks show for one control.</summary>
public enum ControlEvidenceStatus
{
    /// <summary>Every mapped check that applies passed (and at least one applies): evidence supporting the control.</summary>
    EvidencePassed = 0,

    /// <summary>At least one mapped check failed: evidence against the control.</summary>
    EvidenceFailed,

    /// <summary>No mapped check applies, or none is mapped: the control needs manual review.</summary>
    NotAssessed,
}

/// <summary>One check's contribution to a control's evidence.</summary>
/// <param name="CheckId">The check's id.</param>
/// <param name="Title">The check's title.</param>
/// <param name="Severity">The check's severity.</param>
/// <param name="Outcome">The check's outcome for the deployment.</param>
/// <param name="Evidence">What was seen.</param>
public sealed record CheckEvidence(string CheckId, string Title, SecuritySeverity Severity, CheckOutcome Outcome, string Evidence);

/// <summary>The evidence for one control.</summary>
/// <param name="ControlId">The control's id.</param>
/// <param name="Title">The control's title.</param>
/// <param name="Status">What the evidence shows.</param>
/// <param name="Interpretation">Why the checks are evidence for this control.</param>
/// <param name="Checks">Each mapped check's result.</param>
/// <param name="Findings">The findings behind a failed status.</param>
public sealed record ControlEvidence(string ControlId, string Title, ControlEvidenceStatus Status, string Interpretation, IReadOnlyList<CheckEvidence> Checks, IReadOnlyList<SecurityFinding> Findings);

/// <summary>
/// The evidence one assessment gives for the controls of one framework. It documents what automated checks found; it
/// is not a certification or an attestation of compliance (see <see cref="Disclaimer"/>).
/// </summary>
public sealed record ComplianceReport
{
    /// <summary>The framework's id.</summary>
    public required string FrameworkId { get; init; }

    /// <summary>The framework's name.</summary>
    public required string FrameworkTitle { get; init; }

    /// <summary>The framework's version.</summary>
    public required string FrameworkVersion { get; init; }

    /// <summary>The mapping set's version.</summary>
    public required string MappingVersion { get; init; }

    /// <summary>The check catalogue's version.</summary>
    public string CatalogVersion { get; init; } = SecurityCheckCatalog.Version;

    /// <summary>The statement that this is evidence, not certification.</summary>
    public required string Disclaimer { get; init; }

    /// <summary>The deployment's name.</summary>
    public required string Target { get; init; }

    /// <summary>The deployment's id, when it exists.</summary>
    public string? DeploymentId { get; init; }

    /// <summary>The deployment's environment.</summary>
    public required string Environment { get; init; }

    /// <summary>Whether the spec or the running containers were assessed.</summary>
    public required ProfileSource Source { get; init; }

    /// <summary>When the assessment ran.</summary>
    public required DateTimeOffset AssessedAt { get; init; }

    /// <summary>The assessment's security score.</summary>
    public required double Score { get; init; }

    /// <summary>The evidence per control, in the framework's order.</summary>
    public required IReadOnlyList<ControlEvidence> Controls { get; init; }

    /// <summary>How many controls have passing evidence.</summary>
    public int EvidencePassedCount => Controls.Count(c => c.Status == ControlEvidenceStatus.EvidencePassed);

    /// <summary>How many controls have failing evidence.</summary>
    public int EvidenceFailedCount => Controls.Count(c => c.Status == ControlEvidenceStatus.EvidenceFailed);

    /// <summary>How many controls could not be assessed automatically.</summary>
    public int NotAssessedCount => Controls.Count(c => c.Status == ControlEvidenceStatus.NotAssessed);
}
