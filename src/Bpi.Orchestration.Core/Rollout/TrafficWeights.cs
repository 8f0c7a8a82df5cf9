using System.Collections;
using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;

namespace Bpi.Orchestration.Rollout;

/// <summary>
/// The weights plans use most: all traffic to one revision, and no route at all. Both are immutable and shared, so a
/// plan does not build a dictionary for each traffic step, and what records a step's weights keeps them as they are.
/// </summary>
internal static class TrafficWeights
{
    private static readonly AllToOne[] Cached = [.. Enumerable.Range(0, 64).Select(n => new AllToOne(n))];

    /// <summary>No route: the component's route is removed.</summary>
    public static IReadOnlyDictionary<int, int> None => ReadOnlyDictionary<int, int>.Empty;

    /// <summary>100% of the traffic to <paramref name="revision"/>.</summary>
    public static IReadOnlyDictionary<int, int> AllTo(int revision)
        => revision >= 0 && revision < Cached.Length ? Cached[revision] : new AllToOne(revision);

    /// <summary>Whether <paramref name="weights"/> can never change, so it may be kept without a copy.</summary>
    public static bool IsImmutable(IReadOnlyDictionary<int, int> weights)
        => weights is AllToOne || ReferenceEquals(weights, ReadOnlyDictionary<int, int>.Empty);

    /// <summary>
    /// The weights as pairs in ascending revision order (a plain sort of a handful of pairs, usually one, instead of
    /// LINQ). The pairs of a shared all-to-one weight are shared too: read them, never change them.
    /// </summary>
    public static KeyValuePair<int, int>[] Sorted(IReadOnlyDictionary<int, int> weights)
    {
        if (weights is AllToOne one)
        {
            return one.Pairs;
        }

        var pairs = new KeyValuePair<int, int>[weights.Count];
        var n = 0;
        foreach (var pair in weights)
        {
            pairs[n++] = pair;
        }

        if (pairs.Length > 1)
        {
            Array.Sort(pairs, static (a, b) => a.Key.CompareTo(b.Key));
        }

        return pairs;
    }

    /// <summary>One revision with 100%.</summary>
    private sealed class AllToOne(int revision) : IReadOnlyDictionary<int, int>
    {
        /// <summary>The one pair, made once (see <see cref="Sorted"/>).</summary>
        public KeyValuePair<int, int>[] Pairs { get; } = [new(revision, 100)];

        public int Count => 1;

        public IEnumerable<int> Keys => [revision];

        public IEnumerable<int> Values => [100];

        public int this[int key] => key == revision ? 100 : throw new KeyNotFoundException($"No weight for revision {key}.");

        public bool ContainsKey(int key) => key == revision;

        public bool TryGetValue(int key, [MaybeNullWhen(false)] out int value)
        {
            value = key == revision ? 100 : 0;
            return key == revision;
        }

        public IEnumerator<KeyValuePair<int, int>> GetEnumerator()
        {
            yield return new KeyValuePair<int, int>(revision, 100);
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
