using System.Globalization;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Gate;
using Bpi.Orchestration.Security.Remediation;

namespace Bpi.Orchestration.Cli.Output;

/// <summary>One failed check in <c>security scan</c> and <c>security remediate</c> output.</summary>
internal sealed record SecurityFindingView(string Id, string Severity, string Title, IReadOnlyList<string> Subjects, string Evidence, string Remediation)
{
    public static SecurityFindingView From(SecurityFinding f) => new(f.CheckId, f.Severity.ToString(), f.Title, f.Subjects, f.Evidence, f.Remediation);
}

/// <summary>How many checks passed, failed, or did not apply.</summary>
internal sealed record SecurityCheckCountsView(int Passed, int Failed, int NotApplicable);

/// <summary>The security gate's decision for the assessed environment.</summary>
internal sealed record SecurityGateView(bool Passed, string Environment, IReadOnlyList<string> Reasons);

/// <summary>The <c>security scan</c> document.</summary>
internal sealed record SecurityScanView
{
    public required string Target { get; init; }

    public string? DeploymentId { get; init; }

    public required string Environment { get; init; }

    /// <summary><c>Spec</c> (a config file or a stored deployment's spec) or <c>Runtime</c> (running containers).</summary>
    public required string Source { get; init; }

    public required DateTimeOffset AssessedAt { get; init; }

    public required string CatalogVersion { get; init; }

    /// <summary>0–10, two decimals.</summary>
    public required double Score { get; init; }

    public required string Grade { get; init; }

    public required SecurityGateView Gate { get; init; }

    public required SecurityCheckCountsView Checks { get; init; }

    public IReadOnlyList<SecurityFindingView> Findings { get; init; } = [];

    public static SecurityScanView From(SecurityGateDecision decision)
    {
        var a = decision.Assessment;
        return new SecurityScanView
        {
            Target = a.Target,
            DeploymentId = a.DeploymentId,
            Environment = a.Environment,
            Source = a.Source.ToString(),
            AssessedAt = a.AssessedAt,
            CatalogVersion = a.CatalogVersion,
            Score = Round(a.Score),
            Grade = a.Grade.ToString(),
            Gate = new SecurityGateView(decision.Passed, a.Environment, decision.Reasons),
            Checks = new SecurityCheckCountsView(a.PassedCount, a.FailedCount, a.NotApplicableCount),
            Findings = [.. a.Findings.Select(SecurityFindingView.From)],
        };
    }

    public static double Round(double score) => Math.Round(score, 2, MidpointRounding.ToZero);

    /// <summary>The score as the Security package prints it: one decimal, rounded down (6.97 is 6.9, below a minimum of 7.0).</summary>
    public static string Display(double score) => (Math.Floor(score * 10) / 10).ToString("0.0", CultureInfo.InvariantCulture);
}

/// <summary>One remediation of <c>security remediate</c>.</summary>
internal sealed record RemediationActionView(string CheckId, string Subject, string Kind, string Description, string? Risk)
{
    public static RemediationActionView From(RemediationAction a) => new(a.CheckId, a.Subject, a.Kind.ToString(), a.Description, a.Risk);
}

/// <summary>The <c>security remediate</c> document.</summary>
internal sealed record RemediationView
{
    public required string Target { get; init; }

    public string? DeploymentId { get; init; }

    public required string Environment { get; init; }

    /// <summary>Whether any change was applied to the hardened spec.</summary>
    public required bool Changed { get; init; }

    public required SecurityScanView Before { get; init; }

    public required SecurityScanView After { get; init; }

    public IReadOnlyList<RemediationActionView> Actions { get; init; } = [];

    /// <summary>The hardened config file written (<c>--file</c>), or <c>null</c>.</summary>
    public string? File { get; init; }

    /// <summary>The revision the hardened spec was rolled out as (<c>--apply</c>), or <c>null</c>.</summary>
    public int? AppliedRevision { get; init; }

    /// <summary>The deployment after the rollout of the hardened spec (<c>--apply</c>), or <c>null</c>.</summary>
    public DeploymentView? Deployment { get; init; }
}

/// <summary>The <c>security compliance-report --file</c> summary (the report itself is in the file).</summary>
internal sealed record ComplianceReportSummaryView(string Framework, string Format, string File, string Target, string Environment, double Score, int EvidencePassed, int EvidenceFailed, int NotAssessed);
