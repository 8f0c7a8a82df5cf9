using Bpi.Orchestration.Security.Assessment;

namespace Bpi.Orchestration.Security.Remediation;

/// <summary>How a remediation is handled.</summary>
public enum RemediationKind
{
    /// <summary>Safe: applied to the hardened spec (it only restores a DockLock default or adds a limit).</summary>
    Applied = 0,

    /// <summary>Risky: proposed with the reason it may break the service; applied only when accepted.</summary>
    Proposed,

    /// <summary>Needs a person: the SDK cannot infer the fix (for example a health check endpoint).</summary>
    Manual,
}

/// <summary>One remediation of one finding on one component.</summary>
/// <param name="CheckId">The check it fixes.</param>
/// <param name="Subject">The component (or <c>deployment</c>).</param>
/// <param name="Kind">Applied, proposed or manual.</param>
/// <param name="Description">What the change is (or would be).</param>
/// <param name="Risk">Why a proposed change was not applied automatically; <see langword="null"/> for applied ones.</param>
public sealed record RemediationAction(string CheckId, string Subject, RemediationKind Kind, string Description, string? Risk = null);

/// <summary>Which risky remediations to apply anyway, and facts the remediator cannot find itself.</summary>
public sealed class RemediationOptions
{
    /// <summary>Check ids whose proposed remediations are accepted and applied (for example <c>BPI-SEC-009</c> to force a non-root user).</summary>
    public ISet<string> AcceptedProposals { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Known digests by image reference (for example from <c>docker buildx imagetools inspect</c>), used to propose digest pins.</summary>
    public IDictionary<string, string> ImageDigests { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>The outcome of remediating a spec.</summary>
/// <param name="Original">The spec as given.</param>
/// <param name="Hardened">The spec with the applied (and accepted) remediations.</param>
/// <param name="Actions">Every remediation, applied, proposed or manual.</param>
/// <param name="Before">The assessment of <paramref name="Original"/>.</param>
/// <param name="After">The assessment of <paramref name="Hardened"/>.</param>
public sealed record RemediationResult(DeploymentSpec Original, DeploymentSpec Hardened, IReadOnlyList<RemediationAction> Actions, SecurityAssessment Before, SecurityAssessment After)
{
    /// <summary>Whether the hardened spec differs from the original.</summary>
    public bool Changed => Actions.Any(a => a.Kind == RemediationKind.Applied);
}
