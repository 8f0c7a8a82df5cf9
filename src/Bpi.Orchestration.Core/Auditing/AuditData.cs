using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Bpi.Orchestration.Auditing;

/// <summary>
/// The engine's audit details: a handful of name/value pairs in one array, read through
/// <see cref="IReadOnlyDictionary{TKey, TValue}"/>. An entry of the in-memory sink lives long enough to be promoted by
/// the garbage collector, so it is kept to two small objects instead of a hash table.
/// </summary>
internal sealed class AuditData(KeyValuePair<string, string?>[] pairs) : IReadOnlyDictionary<string, string?>
{
    public int Count => pairs.Length;

    public IEnumerable<string> Keys => pairs.Select(p => p.Key);

    public IEnumerable<string?> Values => pairs.Select(p => p.Value);

    public string? this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The audit data has no '{key}'.");

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string? value)
    {
        var index = IndexOf(key);
        value = index >= 0 ? pairs[index].Value : null;
        return index >= 0;
    }

    public IEnumerator<KeyValuePair<string, string?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, string?>>)pairs).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(string key)
    {
        for (var i = 0; i < pairs.Length; i++)
        {
            if (string.Equals(pairs[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
