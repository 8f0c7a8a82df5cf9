using Bpi.Orchestration.Security.Assessment;

namespace Bpi.Orchestration.Security.Checks;

/// <summary>
/// The score of an assessment, 0–10: <c>10 × (1 − failed weight ÷ applicable weight)</c> with weights critical 10, high 5,
/// medium 2 and low 1, capped at 3.9 when any critical check fails and at 6.9 when any high check fails. Checks that do
/// not apply leave both sums; with no applicable check at all the score is 0 (nothing was shown to be safe). The score
/// has one decimal, rounded down, so 10.0 means nothing failed.
/// Deterministic, and monotone: turning a failed check into a passed one never lowers the score.
/// </summary>
public static class SecurityScore
{
    /// <summary>The cap when a critical check fails.</summary>
    public const double CriticalCap = 3.9;

    /// <summary>The cap when a high check fails.</summary>
    public const double HighCap = 6.9;

    /// <summary>The weight of a severity: critical 10, high 5, medium 2, low 1.</summary>
    /// <param name="severity">The severity.</param>
    /// <returns>The weight.</returns>
    public static int WeightOf(SecuritySeverity severity) => severity switch
    {
        SecuritySeverity.Critical => 10,
        SecuritySeverity.High => 5,
        SecuritySeverity.Medium => 2,
        SecuritySeverity.Low => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(severity), severity, "Unknown severity."),
    };

    /// <summary>Computes the score of check results.</summary>
    /// <param name="results">One result per check.</param>
    /// <returns>The score, 0–10.</returns>
    public static double Compute(IEnumerable<CheckResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        return Compute(results.Select(r => (r.Check.Severity, r.Outcome)));
    }

    /// <summary>Computes the score of (severity, outcome) pairs, one per check.</summary>
    /// <param name="results">One pair per check.</param>
    /// <returns>The score, 0–10.</returns>
    public static double Compute(IEnumerable<(SecuritySeverity Severity, CheckOutcome Outcome)> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        long applicable = 0;
        long failed = 0;
        var critical = false;
        var high = false;
        foreach (var (severity, outcome) in results)
        {
            if (outcome == CheckOutcome.NotApplicable)
            {
                continue;
            }

            var weight = WeightOf(severity);
            applicable += weight;
            if (outcome == CheckOutcome.Failed)
            {
                failed += weight;
                critical |= severity == SecuritySeverity.Critical;
                high |= severity == SecuritySeverity.High;
            }
        }

        if (applicable == 0)
        {
            return 0;
        }

        // One decimal, rounded down (in decimal, so exactly): 9.809523… is reported as 9.8, and only a run with nothing
        // failed scores 10.0 (rounding up would let 9.96 read as a perfect score).
        var score = (double)(Math.Floor(100m * (applicable - failed) / applicable) / 10m);
        if (critical)
        {
            score = Math.Min(score, CriticalCap);
        }

        if (high)
        {
            score = Math.Min(score, HighCap);
        }

        return score;
    }

    /// <summary>The letter grade of a score: A ≥ 9, B ≥ 7, C ≥ 5, D ≥ 4, else F.</summary>
    /// <param name="score">The score.</param>
    /// <returns>The grade.</returns>
    public static char GradeOf(double score) => score >= 9 ? 'A' : score >= 7 ? 'B' : score >= 5 ? 'C' : score >= 4 ? 'D' : 'F';
}
