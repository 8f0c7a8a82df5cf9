using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Bpi.Orchestration.Auditing;

/// <summary>The audit details of a state change (<c>from</c>, <c>to</c>, <c>message</c>): one small object per entry.</summary>
internal sealed class StateChangeAudit(DeploymentState from, DeploymentState to, string? message) : IReadOnlyDictionary<string, string?>
{
    private static readonly string[] KeyNames = ["from", "to", "message"];

    public int Count => KeyNames.Length;

    public IEnumerable<string> Keys => KeyNames;

    public IEnumerable<string?> Values => [StateNames.Of(from), StateNames.Of(to), message];

    public string? this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The state change's audit details have no '{key}'.");

    public bool ContainsKey(string key) => key is "from" or "to" or "message";

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string? value)
    {
        value = key switch
        {
            "from" => StateNames.Of(from),
            "to" => StateNames.Of(to),
            "message" => message,
            _ => null,
        };
        return ContainsKey(key);
    }

    public IEnumerator<KeyValuePair<string, string?>> GetEnumerator()
    {
        yield return new("from", StateNames.Of(from));
        yield return new("to", StateNames.Of(to));
        yield return new("message", message);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
