namespace Bpi.Orchestration.Security.Authorization;

/// <summary>
/// The authorization policy of the orchestrator. With the Security package added, whatever no rule allows is denied:
/// an empty policy denies everything (including the <c>system</c> actor; allow it explicitly if background callers
/// run without an actor scope).
/// </summary>
public sealed class AuthorizationOptions
{
    /// <summary>Rules from code, evaluated with the rules of <see cref="PolicyTexts"/> and <see cref="PolicyJson"/> (deny overrides allow; order decides only among allows).</summary>
    public IList<AuthorizationRule> Rules { get; } = [];

    /// <summary>Policies in the text format of <see cref="AuthorizationPolicy.ParseText"/>.</summary>
    public IList<string> PolicyTexts { get; } = [];

    /// <summary>Policies in the JSON format of <see cref="AuthorizationPolicy.ParseJson"/>.</summary>
    public IList<string> PolicyJson { get; } = [];

    /// <summary>Whether allowed decisions are written to the audit trail too (the orchestrator writes every denial itself).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool AuditAllowedDecisions { get; set; } = true;

    /// <summary>
    /// Whether a spec's own <see cref="AccessControlConfig"/> restricts who may operate on it: with
    /// <see cref="AccessControlModel.RoleBased"/> and roles listed the actor must hold one of them; with
    /// <see cref="AccessControlModel.AttributeBased"/> the actor must carry every listed attribute with the same value.
    /// The restriction only narrows what the policy allows.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool EnforceSpecAccessControl { get; set; } = true;

    /// <summary>Builds the policy from <see cref="Rules"/>, <see cref="PolicyTexts"/> and <see cref="PolicyJson"/>.</summary>
    /// <returns>The policy.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: every problem of every source is listed.</exception>
    public AuthorizationPolicy BuildPolicy()
    {
        var rules = new List<AuthorizationRule>(Rules);
        var errors = new List<string>();
        for (var i = 0; i < PolicyTexts.Count; i++)
        {
            try
            {
                rules.AddRange(AuthorizationPolicy.ParseText(PolicyTexts[i] ?? "", PolicyTexts.Count == 1 ? "policy" : $"policy{i + 1}").Rules);
            }
            catch (OrchestrationException ex)
            {
                errors.AddRange(ex.Errors.Select(e => $"{nameof(PolicyTexts)}[{i}]: {e}"));
            }
        }

        for (var i = 0; i < PolicyJson.Count; i++)
        {
            try
            {
                rules.AddRange(AuthorizationPolicy.ParseJson(PolicyJson[i] ?? "").Rules);
            }
            catch (OrchestrationException ex)
            {
                errors.AddRange(ex.Errors.Select(e => $"{nameof(PolicyJson)}[{i}]: {e}"));
            }
        }

        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration("Authorization options", errors);
        }

        try
        {
            return new AuthorizationPolicy(rules);
        }
        catch (OrchestrationException ex)
        {
            throw OrchestrationException.InvalidConfiguration("Authorization options", [.. ex.Errors.Select(e => $"{nameof(Rules)}: {e}")]);
        }
    }
}
