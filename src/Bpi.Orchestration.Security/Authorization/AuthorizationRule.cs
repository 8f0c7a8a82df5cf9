namespace Bpi.Orchestration.Security.Authorization;

/// <summary>Whether a matching rule allows or denies. Deny overrides allow.</summary>
public enum PolicyEffect
{
    /// <summary>The rule allows the operation (when its conditions hold).</summary>
    Allow = 0,

    /// <summary>The rule denies the operation (when its conditions hold), whatever other rules allow.</summary>
    Deny,
}

/// <summary>
/// One authorization rule: who (roles or users) may or may not do which verbs, in which environments, on which apps
/// (globs with <c>*</c> and <c>?</c>), under which attribute conditions.
/// </summary>
public sealed record AuthorizationRule
{
    /// <summary>The rule's name, written into every decision it makes and into the audit trail.</summary>
    public required string Name { get; init; }

    /// <summary>Allow or deny.</summary>
    /// <value>The default value is <see cref="PolicyEffect.Allow"/>.</value>
    public PolicyEffect Effect { get; init; } = PolicyEffect.Allow;

    /// <summary>The subjects: <c>role:name</c> (or just <c>name</c>) for a role of the actor, <c>user:id</c> for one actor, <c>*</c> for anyone.</summary>
    public IReadOnlyList<string> Subjects { get; init; } = ["*"];

    /// <summary>The verbs (<see cref="OrchestrationVerbs"/>), or <c>*</c>.</summary>
    public IReadOnlyList<string> Verbs { get; init; } = ["*"];

    /// <summary>Environment globs, for example <c>prod*</c>; <c>*</c> also matches VM-wide requests without an environment.</summary>
    public IReadOnlyList<string> Environments { get; init; } = ["*"];

    /// <summary>Application id globs, for example <c>payments-*</c>; <c>*</c> also matches requests without an app.</summary>
    public IReadOnlyList<string> Apps { get; init; } = ["*"];

    /// <summary>Attribute conditions that must all hold for the rule to take effect.</summary>
    public IReadOnlyList<AuthorizationCondition> Conditions { get; init; } = [];

    /// <inheritdoc />
    public override string ToString()
        => $"{Name}: {Effect.ToString().ToLowerInvariant()} {string.Join(",", Subjects)} {string.Join(",", Verbs)} {string.Join(",", Environments)} {string.Join(",", Apps)}"
            + (Conditions.Count == 0 ? "" : " when " + string.Join("; ", Conditions.Select(c => c.Description)));

    internal IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            yield return "a rule has no name";
        }

        foreach (var (list, field) in new[] { (Subjects, "subjects"), (Verbs, "verbs"), (Environments, "environments"), (Apps, "apps") })
        {
            if (list is null || list.Count == 0)
            {
                yield return $"rule '{Name}' has no {field}; use '*' for any";
            }
            else if (list.Any(string.IsNullOrWhiteSpace))
            {
                yield return $"rule '{Name}' has an empty entry in {field}";
            }
        }

        foreach (var verb in Verbs ?? [])
        {
            if (verb != "*" && !AuthorizationPolicy.KnownVerbs.Contains(verb))
            {
                yield return $"rule '{Name}' names verb '{verb}', which is not one of {string.Join(", ", AuthorizationPolicy.KnownVerbs)}";
            }
        }
    }
}
