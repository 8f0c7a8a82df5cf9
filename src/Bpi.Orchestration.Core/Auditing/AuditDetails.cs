using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Bpi.Orchestration.Auditing;

/// <summary>
/// The engine's audit details: a few fixed name/value pairs read through <see cref="IReadOnlyDictionary{TKey, TValue}"/>.
/// An entry of the in-memory sink lives long enough to be promoted by the garbage collector, so each kind keeps its
/// values in as few small objects as it can; this base gives them the dictionary surface over their fixed keys.
/// </summary>
internal abstract class AuditDetails : IReadOnlyDictionary<string, string?>
{
    public abstract int Count { get; }

    public IEnumerable<string> Keys => Enumerable.Range(0, Count).Select(NameAt);

    public IEnumerable<string?> Values => Enumerable.Range(0, Count).Select(ValueAt);

    public string? this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The audit details have no '{key}'.");

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string? value)
    {
        var index = IndexOf(key);
        value = index >= 0 ? ValueAt(index) : null;
        return index >= 0;
    }

    public IEnumerator<KeyValuePair<string, string?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return new KeyValuePair<string, string?>(NameAt(i), ValueAt(i));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The <paramref name="index"/>-th name, in the order the details are enumerated.</summary>
    protected abstract string NameAt(int index);

    /// <summary>The value of the <paramref name="index"/>-th name.</summary>
    protected abstract string? ValueAt(int index);

    private int IndexOf(string key)
    {
        for (var i = 0; i < Count; i++)
        {
            if (string.Equals(NameAt(i), key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
