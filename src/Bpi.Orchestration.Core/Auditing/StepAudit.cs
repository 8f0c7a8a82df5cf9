using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Auditing;

/// <summary>
/// The audit details of one rollout step (<c>plan</c>, <c>step.index</c>, <c>step.kind</c>, <c>step</c>): shared by the
/// step's start and completion entries, and describing the step (<see cref="RolloutStep.Describe"/>) only when the
/// <c>step</c> value is first read — by an audit store writing the entry, a watcher or a status.
/// </summary>
internal sealed class StepAudit(RolloutPlan plan, int index) : IReadOnlyDictionary<string, string?>
{
    private static readonly string[] KeyNames = ["plan", "step.index", "step.kind", "step"];
    private string? _description;

    public int Index => index;

    /// <summary>The step's description, made once.</summary>
    public string Description => _description ??= plan.Steps[index].Describe();

    public int Count => KeyNames.Length;

    public IEnumerable<string> Keys => KeyNames;

    public IEnumerable<string?> Values => KeyNames.Select(k => this[k]);

    public string? this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The step's audit details have no '{key}'.");

    public bool Is(RolloutPlan other, int otherIndex) => ReferenceEquals(plan, other) && index == otherIndex;

    public bool ContainsKey(string key) => Array.IndexOf(KeyNames, key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string? value)
    {
        value = key switch
        {
            "plan" => StateNames.Of(plan.Kind),
            "step.index" => index.ToString(CultureInfo.InvariantCulture),
            "step.kind" => plan.Steps[index].Kind,
            "step" => Description,
            _ => null,
        };
        return ContainsKey(key);
    }

    public IEnumerator<KeyValuePair<string, string?>> GetEnumerator()
    {
        foreach (var key in KeyNames)
        {
            yield return new KeyValuePair<string, string?>(key, this[key]);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
