namespace Bpi.Orchestration.Security;

/// <summary>
/// Judges a spec before it is deployed. The VM refuses a deployment the gate does not pass with
/// <see cref="OrchestrationErrorKind.SecurityValidationFailed"/>. Provided by the Security package; Core has none.
/// </summary>
public interface ISecurityGate
{
    /// <summary>Assesses a spec.</summary>
    /// <param name="spec">The spec to assess.</param>
    /// <param name="cancellationToken">Cancels the assessment.</param>
    /// <returns>The score and whether the spec passes.</returns>
    ValueTask<SecurityGateResult> EvaluateAsync(DeploymentSpec spec, CancellationToken cancellationToken = default);
}

/// <summary>The verdict of a security gate.</summary>
/// <param name="Passed">Whether the deployment may proceed.</param>
/// <param name="Score">The security score, 0–10.</param>
/// <param name="Findings">The findings that decided, one sentence each (id, severity, title).</param>
public sealed record SecurityGateResult(bool Passed, double Score, IReadOnlyList<string> Findings);
