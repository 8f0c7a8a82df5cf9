using System.Globalization;
using System.Text.Json;

namespace Bpi.Orchestration.Security.Authorization;

/// <summary>
/// Reads the JSON policy format strictly, so that a mistake can never widen a rule: a walk over the document (not a
/// lenient deserializer) that refuses unknown members (a typo such as <c>subject</c> or <c>verb</c> would otherwise be
/// ignored and the rule would match everyone), duplicate members (the last one would silently win), a missing
/// <c>effect</c>, <c>subjects</c> or <c>verbs</c>, empty lists and wrong types, and lists every problem at once with the
/// rule's index. Omitted <c>environments</c> and <c>apps</c> mean <c>*</c>; nothing else has a default.
/// </summary>
internal static class PolicyJsonReader
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 16,
    };

    private static readonly string[] RootMembers = ["rules"];
    private static readonly string[] RuleMembers = ["name", "effect", "subjects", "verbs", "environments", "apps", "when"];

    public static AuthorizationPolicy Read(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw OrchestrationException.InvalidConfiguration("The authorization policy", [$"it is not valid JSON: {ex.Message}"]);
        }

        using (document)
        {
            var errors = new List<string>();
            var rules = new List<AuthorizationRule>();
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"the document is {Describe(root.ValueKind)}; expected an object: {{\"rules\": [ … ]}}.");
            }
            else
            {
                var members = Members(root, RootMembers, "the document", errors);
                if (!members.TryGetValue("rules", out var list))
                {
                    errors.Add("the document has no 'rules' member; write {\"rules\": [ … ]} (an empty list denies everything).");
                }
                else if (list.ValueKind != JsonValueKind.Array)
                {
                    errors.Add($"'rules' is {Describe(list.ValueKind)}; expected a list of rule objects.");
                }
                else
                {
                    var index = 0;
                    foreach (var element in list.EnumerateArray())
                    {
                        if (ReadRule(element, string.Create(CultureInfo.InvariantCulture, $"rules[{index}]"), errors) is { } rule)
                        {
                            rules.Add(rule);
                        }

                        index++;
                    }
                }
            }

            if (errors.Count > 0)
            {
                throw OrchestrationException.InvalidConfiguration("The authorization policy", errors);
            }

            return new AuthorizationPolicy(rules);
        }
    }

    private static AuthorizationRule? ReadRule(JsonElement element, string where, List<string> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{where} is {Describe(element.ValueKind)}; expected a rule object with effect, subjects and verbs.");
            return null;
        }

        var count = errors.Count;
        var members = Members(element, RuleMembers, where, errors);
        string? name = null;
        if (members.TryGetValue("name", out var nameElement) && nameElement.ValueKind != JsonValueKind.Null)
        {
            if (nameElement.ValueKind != JsonValueKind.String)
            {
                errors.Add($"{where}.name is {Describe(nameElement.ValueKind)}; expected a string.");
            }
            else
            {
                name = nameElement.GetString();
            }
        }

        var effect = PolicyEffect.Deny;
        if (!members.TryGetValue("effect", out var effectElement))
        {
            errors.Add($"{where} has no 'effect'; say \"effect\": \"allow\" or \"deny\" (nothing defaults to allow).");
        }
        else if (effectElement.ValueKind != JsonValueKind.String || !AuthorizationPolicy.TryParseEffect(effectElement.GetString()!, out effect))
        {
            errors.Add($"{where}.effect is {Show(effectElement)}; use \"allow\" or \"deny\".");
        }

        var subjects = List(members, "subjects", where, required: true, errors);
        var verbs = List(members, "verbs", where, required: true, errors);
        var environments = List(members, "environments", where, required: false, errors);
        var apps = List(members, "apps", where, required: false, errors);
        var conditions = new List<AuthorizationCondition>();
        if (members.TryGetValue("when", out var when))
        {
            if (when.ValueKind != JsonValueKind.Array)
            {
                errors.Add($"{where}.when is {Describe(when.ValueKind)}; expected a list of conditions such as [\"score>=7\"].");
            }
            else
            {
                var i = 0;
                foreach (var condition in when.EnumerateArray())
                {
                    if (condition.ValueKind != JsonValueKind.String)
                    {
                        errors.Add(string.Create(CultureInfo.InvariantCulture, $"{where}.when[{i}] is {Describe(condition.ValueKind)}; expected a condition string."));
                    }
                    else if (AuthorizationPolicy.TryParseCondition(condition.GetString()!, out var parsed, out var error))
                    {
                        conditions.Add(parsed);
                    }
                    else
                    {
                        errors.Add($"{where}.when: {error}");
                    }

                    i++;
                }
            }
        }

        if (errors.Count > count)
        {
            return null;
        }

        return new AuthorizationRule
        {
            Name = string.IsNullOrWhiteSpace(name) ? where : name,
            Effect = effect,
            Subjects = subjects!,
            Verbs = verbs!,
            Environments = environments ?? ["*"],
            Apps = apps ?? ["*"],
            Conditions = conditions,
        };
    }

    /// <summary>The members of an object by name; unknown and repeated names are errors.</summary>
    private static Dictionary<string, JsonElement> Members(JsonElement element, string[] known, string where, List<string> errors)
    {
        var members = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var repeated = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                var hint = known.FirstOrDefault(k => string.Equals(k, property.Name, StringComparison.OrdinalIgnoreCase) || string.Equals(k, property.Name + "s", StringComparison.OrdinalIgnoreCase));
                errors.Add($"{where} has an unknown member '{Printable(property.Name)}'{(hint is null ? "" : $" (did you mean '{hint}'?)")}; the known members are {string.Join(", ", known)}.");
            }
            else if (!members.TryAdd(property.Name, property.Value) && repeated.Add(property.Name))
            {
                errors.Add($"{where} has '{property.Name}' more than once; say it once (a repeated member is not overridden by the last).");
            }
        }

        return members;
    }

    private static List<string>? List(Dictionary<string, JsonElement> members, string name, string where, bool required, List<string> errors)
    {
        if (!members.TryGetValue(name, out var element))
        {
            if (required)
            {
                errors.Add($"{where} has no '{name}'; list them, or say [\"*\"] to mean everything.");
            }

            return null;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"{where}.{name} is {Describe(element.ValueKind)}; expected a list of strings, for example [\"*\"].");
            return null;
        }

        var list = new List<string>();
        var valid = true;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{where}.{name}[{list.Count}] is {Show(item)}; expected a non-empty string."));
                valid = false;
            }

            list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()!.Trim() : "");
        }

        if (list.Count == 0)
        {
            errors.Add($"{where}.{name} is empty; say [\"*\"] to mean everything (an empty list does not).");
            return null;
        }

        return valid ? list : null;
    }

    private static string Show(JsonElement element)
        => element.ValueKind == JsonValueKind.String ? $"'{Printable(element.GetString()!)}'" : Describe(element.ValueKind);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    /// <summary>A name from the document for a message: control characters escaped, at most 64 characters.</summary>
    private static string Printable(string text)
    {
        var shown = text.Length > 64 ? text[..64] + "…" : text;
        return shown.Any(char.IsControl)
            ? string.Concat(shown.Select(c => char.IsControl(c) ? string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}") : c.ToString()))
            : shown;
    }
}
