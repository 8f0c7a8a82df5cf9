using System.Globalization;

namespace Bpi.Orchestration.Security.Authorization;

/// <summary>
/// A set of <see cref="AuthorizationRule"/>s evaluated as Argo CD does: deny overrides allow (a matching deny rule whose
/// conditions hold wins, whatever its position), otherwise the first matching allow rule whose conditions hold allows,
/// otherwise the request is denied by default. Policies come from code or from a small text or JSON format
/// (<see cref="ParseText"/>, <see cref="ParseJson"/>).
/// </summary>
public sealed class AuthorizationPolicy
{
    /// <summary>The rule name of the default decision.</summary>
    public const string DefaultDenyRule = "default-deny";

    internal static readonly IReadOnlySet<string> KnownVerbs = new HashSet<string>(StringComparer.Ordinal)
    {
        OrchestrationVerbs.Deploy, OrchestrationVerbs.Update, OrchestrationVerbs.Scale, OrchestrationVerbs.Rollback, OrchestrationVerbs.Pause,
        OrchestrationVerbs.Resume, OrchestrationVerbs.Abort, OrchestrationVerbs.Promote, OrchestrationVerbs.Approve, OrchestrationVerbs.Destroy,
        OrchestrationVerbs.Read,
    };

    private readonly AuthorizationRule[] _rules;

    /// <summary>Creates a policy from rules.</summary>
    /// <param name="rules">The rules.</param>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: a rule is invalid (every problem listed).</exception>
    public AuthorizationPolicy(IEnumerable<AuthorizationRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _rules = [.. rules];
        var errors = _rules.SelectMany(r => r.Validate()).ToList();
        errors.AddRange(_rules.GroupBy(r => r.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => $"rule name '{g.Key}' is used {g.Count()} times; names must be unique so decisions say which rule decided"));
        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration("The authorization policy", errors);
        }
    }

    /// <summary>The rules, in order.</summary>
    public IReadOnlyList<AuthorizationRule> Rules => _rules;

    /// <summary>
    /// Parses the text format, one rule per line (blank lines and <c>#</c> comments ignored):
    /// <code>
    /// [name] allow|deny  subjects  verbs  environments  apps  [when condition; condition]
    /// allow  role:developer      deploy,update,read  dev*,staging  *
    /// deny   role:developer      *                   production    *
    /// [prod-ops] allow role:admin deploy,update      production    *   when score&gt;=7
    /// allow  role:approver       approve             *             *   when approver!=requester
    /// </code>
    /// Lists are comma-separated; conditions are <c>score&gt;=N</c>, <c>approver!=requester</c> and <c>actor.attr=value</c>.
    /// A rule without a name is named after its line (<c>policy:3</c>).
    /// </summary>
    /// <param name="text">The policy text.</param>
    /// <param name="source">A name for the text, used in rule names.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: every malformed line is listed.</exception>
    public static AuthorizationPolicy ParseText(string text, string source = "policy")
    {
        ArgumentNullException.ThrowIfNull(text);
        var rules = new List<AuthorizationRule>();
        var errors = new List<string>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            var hash = line.IndexOf('#', StringComparison.Ordinal);
            line = (hash >= 0 ? line[..hash] : line).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var where = string.Create(CultureInfo.InvariantCulture, $"{source}:{i + 1}");
            var name = where;
            if (line.StartsWith('['))
            {
                var close = line.IndexOf(']', StringComparison.Ordinal);
                if (close < 0)
                {
                    errors.Add($"{where}: '[' starts a rule name but no ']' ends it.");
                    continue;
                }

                name = line[1..close].Trim();
                line = line[(close + 1)..].Trim();
            }

            var conditionText = "";
            var when = line.IndexOf(" when ", StringComparison.OrdinalIgnoreCase);
            if (when >= 0)
            {
                conditionText = line[(when + 6)..];
                line = line[..when];
            }

            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 5)
            {
                errors.Add($"{where}: expected 'allow|deny subjects verbs environments apps [when …]' (5 fields), found {fields.Length}.");
                continue;
            }

            if (!TryParseEffect(fields[0], out var effect))
            {
                errors.Add($"{where}: the effect is '{fields[0]}'; use allow or deny.");
                continue;
            }

            var conditions = new List<AuthorizationCondition>();
            foreach (var condition in conditionText.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (TryParseCondition(condition, out var parsed, out var error))
                {
                    conditions.Add(parsed);
                }
                else
                {
                    errors.Add($"{where}: {error}");
                }
            }

            rules.Add(new AuthorizationRule
            {
                Name = name,
                Effect = effect,
                Subjects = List(fields[1]),
                Verbs = List(fields[2]),
                Environments = List(fields[3]),
                Apps = List(fields[4]),
                Conditions = conditions,
            });
        }

        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration($"The authorization policy '{source}'", errors);
        }

        return new AuthorizationPolicy(rules);
    }

    /// <summary>
    /// Parses the JSON format: <c>{"rules": [{"name": "prod-ops", "effect": "allow", "subjects": ["role:admin"], "verbs": ["deploy"],
    /// "environments": ["production"], "apps": ["*"], "when": ["score&gt;=7"]}]}</c>. The reading is strict, so a mistake never
    /// widens a rule: every rule states <c>effect</c>, <c>subjects</c> and <c>verbs</c>; lists are never empty (say
    /// <c>["*"]</c> to mean everything); unknown or repeated members are errors. Only <c>environments</c> and <c>apps</c> may be
    /// omitted, meaning <c>*</c>. An empty <c>rules</c> list denies everything. Comments and trailing commas are allowed.
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: every problem is listed, with the rule's index.</exception>
    public static AuthorizationPolicy ParseJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return PolicyJsonReader.Read(json);
    }

    /// <summary>Decides on a request: deny overrides allow, and nothing allowed is denied.</summary>
    /// <param name="request">The request.</param>
    /// <param name="securityScore">Computes the score for <c>score&gt;=N</c> conditions; <see langword="null"/> uses only the <c>securityScore</c> attribute.</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    /// <returns>The decision, naming the rule that decided.</returns>
    public async ValueTask<AuthorizationDecision> DecideAsync(AuthorizationRequest request, Func<CancellationToken, ValueTask<double?>>? securityScore = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        AuthorizationConditionContext? context = null;
        AuthorizationConditionContext Context() => context ??= new AuthorizationConditionContext(request, securityScore ?? (_ => ValueTask.FromResult(AttributeScore(request))));

        // Deny rules first: any that matches (with its conditions) wins.
        foreach (var rule in _rules)
        {
            if (rule.Effect == PolicyEffect.Deny && Matches(rule, request) && await ConditionsHoldAsync(rule, Context(), cancellationToken).ConfigureAwait(false) is null)
            {
                return new AuthorizationDecision(false, rule.Name, $"rule '{rule.Name}' denies {request.Verb} to {Describe(request.Actor)}");
            }
        }

        string? unmet = null;
        foreach (var rule in _rules)
        {
            if (rule.Effect != PolicyEffect.Allow || !Matches(rule, request))
            {
                continue;
            }

            var failed = rule.Conditions.Count == 0 ? null : await ConditionsHoldAsync(rule, Context(), cancellationToken).ConfigureAwait(false);
            if (failed is null)
            {
                return new AuthorizationDecision(true, rule.Name, $"rule '{rule.Name}' allows {request.Verb} to {Describe(request.Actor)}");
            }

            unmet ??= $"rule '{rule.Name}' would allow it, but its condition {failed.Description} does not hold";
        }

        return new AuthorizationDecision(false, DefaultDenyRule, unmet ?? $"no rule allows {request.Verb} in environment '{request.Environment ?? "*"}' on app '{request.AppId ?? "*"}' to {Describe(request.Actor)}");
    }

    internal static double? AttributeScore(AuthorizationRequest request)
        => request.Attributes.TryGetValue("securityScore", out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var score) ? score : null;

    private static string Describe(OrchestrationActor actor) => $"'{actor.Id}'" + (actor.Roles.Count == 0 ? "" : $" (roles {string.Join(", ", actor.Roles)})");

    private static async ValueTask<AuthorizationCondition?> ConditionsHoldAsync(AuthorizationRule rule, AuthorizationConditionContext context, CancellationToken cancellationToken)
    {
        foreach (var condition in rule.Conditions)
        {
            if (!await condition.IsSatisfiedAsync(context, cancellationToken).ConfigureAwait(false))
            {
                return condition;
            }
        }

        return null;
    }

    private static bool Matches(AuthorizationRule rule, AuthorizationRequest request)
        => AnyMatch(rule.Verbs, request.Verb, ignoreCase: false)
            && SubjectMatches(rule.Subjects, request.Actor)
            && (request.Environment is null ? rule.Environments.Contains("*") : AnyMatch(rule.Environments, request.Environment, ignoreCase: true))
            && (request.AppId is null ? rule.Apps.Contains("*") : AnyMatch(rule.Apps, request.AppId, ignoreCase: true));

    private static bool SubjectMatches(IReadOnlyList<string> subjects, OrchestrationActor actor)
    {
        for (var i = 0; i < subjects.Count; i++)
        {
            var subject = subjects[i];
            if (subject == "*")
            {
                return true;
            }

            if (subject.StartsWith("user:", StringComparison.Ordinal))
            {
                if (Glob.IsMatch(subject.AsSpan(5), actor.Id, ignoreCase: false))
                {
                    return true;
                }

                continue;
            }

            var role = subject.StartsWith("role:", StringComparison.Ordinal) ? subject.AsSpan(5) : subject.AsSpan();
            for (var r = 0; r < actor.Roles.Count; r++)
            {
                if (Glob.IsMatch(role, actor.Roles[r], ignoreCase: false))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool AnyMatch(IReadOnlyList<string> patterns, string value, bool ignoreCase)
    {
        for (var i = 0; i < patterns.Count; i++)
        {
            if (Glob.IsMatch(patterns[i], value, ignoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static List<string> List(string field) => [.. field.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    internal static bool TryParseEffect(string text, out PolicyEffect effect)
    {
        switch (text.Trim().ToUpperInvariant())
        {
            case "ALLOW":
                effect = PolicyEffect.Allow;
                return true;
            case "DENY":
                effect = PolicyEffect.Deny;
                return true;
            default:
                effect = PolicyEffect.Allow;
                return false;
        }
    }

    internal static bool TryParseCondition(string text, out AuthorizationCondition condition, out string? error)
    {
        var t = text.Replace(" ", "", StringComparison.Ordinal);
        error = null;
        condition = AuthorizationCondition.ApproverIsNotRequester();
        if (t.StartsWith("score>=", StringComparison.OrdinalIgnoreCase))
        {
            if (double.TryParse(t[7..], NumberStyles.Float, CultureInfo.InvariantCulture, out var minimum) && minimum is >= 0 and <= 10)
            {
                condition = AuthorizationCondition.MinimumSecurityScore(minimum);
                return true;
            }

            error = $"condition '{text}' needs a score between 0 and 10, for example score>=7.";
            return false;
        }

        if (string.Equals(t, "approver!=requester", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (t.StartsWith("actor.", StringComparison.OrdinalIgnoreCase) && t.IndexOf('=', StringComparison.Ordinal) is > 6 and var eq && eq < t.Length - 1)
        {
            condition = AuthorizationCondition.ActorAttributeEquals(t[6..eq], t[(eq + 1)..]);
            return true;
        }

        error = $"condition '{text}' is not understood; use score>=N, approver!=requester or actor.attribute=value.";
        return false;
    }
}

/// <summary>Glob matching with <c>*</c> (any run) and <c>?</c> (one character), allocation-free.</summary>
internal static class Glob
{
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> value, bool ignoreCase)
    {
        int p = 0, v = 0, star = -1, mark = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || Same(pattern[p], value[v], ignoreCase)))
            {
                p++;
                v++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = v;
            }
            else if (star >= 0)
            {
                p = star + 1;
                v = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool Same(char a, char b, bool ignoreCase) => a == b || (ignoreCase && char.ToLowerInvariant(a) == char.ToLowerInvariant(b));
}
