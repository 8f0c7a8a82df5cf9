using System.Globalization;
using Bpi.Orchestration.Security.Checks;

namespace Bpi.Orchestration.Security.Assessment;

/// <summary>What one check found on one container (or on the deployment).</summary>
/// <param name="Subject">The component or container it was evaluated on, or <c>deployment</c> for deployment-wide checks.</param>
/// <param name="Outcome">The outcome there.</param>
/// <param name="Evidence">What was seen, in a sentence. Never holds a secret value.</param>
public sealed record CheckObservation(string Subject, CheckOutcome Outcome, string Evidence);

/// <summary>One check's result over a whole deployment: failed when any container fails it, not applicable when it applies to none.</summary>
/// <param name="Check">The check.</param>
/// <param name="Outcome">The outcome over the deployment.</param>
/// <param name="Observations">What it found on each container.</param>
public sealed record CheckResult(SecurityCheck Check, CheckOutcome Outcome, IReadOnlyList<CheckObservation> Observations);

/// <summary>A failed check: what is wrong, where, and how to fix it.</summary>
/// <param name="CheckId">The check's id, for example <c>BPI-SEC-009</c>.</param>
/// <param name="Title">The check's title.</param>
/// <param name="Severity">The check's severity.</param>
/// <param name="Subjects">The components or containers that fail it.</param>
/// <param name="Evidence">What was seen, one clause per subject.</param>
/// <param name="Remediation">How to fix it.</param>
public sealed record SecurityFinding(string CheckId, string Title, SecuritySeverity Severity, IReadOnlyList<string> Subjects, string Evidence, string Remediation)
{
    /// <summary>The finding in one sentence: id, severity, title and evidence.</summary>
    /// <returns>For example <c>BPI-SEC-001 (Critical) Privileged container: web: the container is privileged</c>.</returns>
    public override string ToString() => $"{CheckId} ({Severity}) {Title}: {Evidence}";
}

/// <summary>The result of assessing one deployment (its spec, or its running containers).</summary>
public sealed record SecurityAssessment
{
    /// <summary>The deployment's name.</summary>
    public required string Target { get; init; }

    /// <summary>The deployment's id, when it exists.</summary>
    public string? DeploymentId { get; init; }

    /// <summary>The environment whose policy applied.</summary>
    public required string Environment { get; init; }

    /// <summary>Whether the spec or running containers were assessed.</summary>
    public required ProfileSource Source { get; init; }

    /// <summary>When the assessment ran.</summary>
    public required DateTimeOffset AssessedAt { get; init; }

    /// <summary>The catalogue and scoring model version (<see cref="SecurityCheckCatalog.Version"/>).</summary>
    public string CatalogVersion { get; init; } = SecurityCheckCatalog.Version;

    /// <summary>The score, 0–10 (see <see cref="SecurityScore"/>).</summary>
    public required double Score { get; init; }

    /// <summary>Every check's result, ordered by check id.</summary>
    public required IReadOnlyList<CheckResult> Results { get; init; }

    /// <summary>The failed checks, gravest first, then by id.</summary>
    public required IReadOnlyList<SecurityFinding> Findings { get; init; }

    /// <summary>The letter grade of <see cref="Score"/>.</summary>
    public char Grade => SecurityScore.GradeOf(Score);

    /// <summary>The gravest severity among the findings, or <see langword="null"/> without findings.</summary>
    public SecuritySeverity? HighestSeverity => Findings.Count == 0 ? null : Findings.Max(f => f.Severity);

    /// <summary>How many checks passed.</summary>
    public int PassedCount => Results.Count(r => r.Outcome == CheckOutcome.Passed);

    /// <summary>How many checks failed.</summary>
    public int FailedCount => Results.Count(r => r.Outcome == CheckOutcome.Failed);

    /// <summary>How many checks did not apply.</summary>
    public int NotApplicableCount => Results.Count(r => r.Outcome == CheckOutcome.NotApplicable);

    /// <summary>The result of one check.</summary>
    /// <param name="checkId">The check's id.</param>
    /// <returns>The result, or <see langword="null"/> when the check was not run.</returns>
    public CheckResult? ResultOf(string checkId) => Results.FirstOrDefault(r => string.Equals(r.Check.Id, checkId, StringComparison.Ordinal));

    /// <summary>
    /// The components assessed as local processes: they run without a sandbox, so the container-isolation checks do
    /// not apply to them and <see cref="Score"/> says nothing about their isolation (only about the checks that apply:
    /// secrets, images, access). Empty when every component is a container.
    /// </summary>
    public IReadOnlyList<string> LocalProcesses => [.. Results
        .SelectMany(r => r.Observations)
        .Where(o => o.Outcome == CheckOutcome.NotApplicable && string.Equals(o.Evidence, SecurityCheckCatalog.LocalProcessEvidence, StringComparison.Ordinal))
        .Select(o => o.Subject)
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal)];

    /// <summary>One line: the score and findings, and which components' isolation was not applicable (local processes).</summary>
    /// <returns>The summary.</returns>
    public override string ToString()
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{Target} ({Environment}, {Source}): score {Math.Floor(Score * 10) / 10:0.0} ({Grade}), {Findings.Count} finding(s)");
        var processes = LocalProcesses;
        return processes.Count == 0
            ? text
            : text + $"; isolation not applicable: {string.Join(", ", processes)} run(s) as a local process without a sandbox (the score covers the other checks only)";
    }
}
