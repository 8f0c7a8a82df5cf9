using System.Text.Json.Nodes;

namespace Bpi.Orchestration.Kubernetes.Emulator;

/// <summary>
/// A label selector as the API server parses <c>?labelSelector=</c>: <c>k=v</c>, <c>k==v</c>, <c>k!=v</c>, <c>k in (a,b)</c>,
/// <c>k notin (a,b)</c>, <c>k</c> and <c>!k</c>, joined by commas.
/// </summary>
internal sealed class LabelSelector
{
    private readonly List<Func<IReadOnlyDictionary<string, string>, bool>> _terms = [];

    public static LabelSelector Everything { get; } = new();

    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var term in SplitTerms(text))
        {
            var t = term.Trim();
            int at;
            if ((at = t.IndexOf(" notin ", StringComparison.Ordinal)) > 0)
            {
                var (key, values) = (t[..at].Trim(), SetValues(t[(at + 7)..]));
                selector._terms.Add(l => !l.TryGetValue(key, out var v) || !values.Contains(v));
            }
            else if ((at = t.IndexOf(" in ", StringComparison.Ordinal)) > 0)
            {
                var (key, values) = (t[..at].Trim(), SetValues(t[(at + 4)..]));
                selector._terms.Add(l => l.TryGetValue(key, out var v) && values.Contains(v));
            }
            else if ((at = t.IndexOf("!=", StringComparison.Ordinal)) > 0)
            {
                var (key, value) = (t[..at].Trim(), t[(at + 2)..].Trim());
                selector._terms.Add(l => !l.TryGetValue(key, out var v) || v != value);
            }
            else if ((at = t.IndexOf('=')) > 0)
            {
                var key = t[..at].Trim();
                var value = t[(at + (t.AsSpan(at).StartsWith("==") ? 2 : 1))..].Trim();
                selector._terms.Add(l => l.TryGetValue(key, out var v) && v == value);
            }
            else if (t.StartsWith('!'))
            {
                var key = t[1..].Trim();
                selector._terms.Add(l => !l.ContainsKey(key));
            }
            else
            {
                selector._terms.Add(l => l.ContainsKey(t));
            }
        }

        return selector;
    }

    public static IReadOnlyDictionary<string, string> LabelsOf(JsonNode? obj)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (obj?["metadata"]?["labels"] is JsonObject map)
        {
            foreach (var (key, value) in map)
            {
                labels[key] = value?.GetValue<string>() ?? "";
            }
        }

        return labels;
    }

    public bool Matches(JsonNode? obj) => Matches(LabelsOf(obj));

    public bool Matches(IReadOnlyDictionary<string, string> labels) => _terms.TrueForAll(t => t(labels));

    private static HashSet<string> SetValues(string text)
        => [.. text.Trim().TrimStart('(').TrimEnd(')').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    private static IEnumerable<string> SplitTerms(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
            if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }

        yield return text[start..];
    }
}
