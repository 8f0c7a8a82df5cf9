using System.Globalization;
using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Auditing;

/// <summary>
/// The audit details of one rollout step (<c>plan</c>, <c>step.index</c>, <c>step.kind</c>, <c>step</c>): shared by the
/// step's start and completion entries, and describing the step (<see cref="RolloutStep.Describe"/>) only when the
/// <c>step</c> value is first read — by an audit store writing the entry, a watcher or a status.
/// </summary>
internal sealed class StepAudit(RolloutPlan plan, int index) : AuditDetails
{
    private static readonly string[] KeyNames = ["plan", "step.index", "step.kind", "step"];

    // The step and the plan's kind, not the plan: the audit trail keeps these details as long as it keeps the entries,
    // and a kept plan would keep every step of it.
    private readonly RolloutStep _step = plan.Steps[index];
    private readonly RolloutKind _kind = plan.Kind;
    private string? _description;

    public int Index => index;

    /// <summary>The step's description, made once.</summary>
    public string Description => _description ??= _step.Describe();

    public override int Count => KeyNames.Length;

    /// <summary>Whether these are the details of step <paramref name="otherIndex"/> of <paramref name="other"/> (each plan has steps of its own).</summary>
    public bool Is(RolloutPlan other, int otherIndex)
        => index == otherIndex && _kind == other.Kind && otherIndex < other.Steps.Count && ReferenceEquals(_step, other.Steps[otherIndex]);

    protected override string NameAt(int position) => KeyNames[position];

    protected override string? ValueAt(int position) => position switch
    {
        0 => StateNames.Of(_kind),
        1 => index.ToString(CultureInfo.InvariantCulture),
        2 => _step.Kind,
        _ => Description,
    };
}
