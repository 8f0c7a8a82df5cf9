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
    private string? _description;

    public int Index => index;

    /// <summary>The step's description, made once.</summary>
    public string Description => _description ??= plan.Steps[index].Describe();

    public override int Count => KeyNames.Length;

    public bool Is(RolloutPlan other, int otherIndex) => ReferenceEquals(plan, other) && index == otherIndex;

    protected override string NameAt(int position) => KeyNames[position];

    protected override string? ValueAt(int position) => position switch
    {
        0 => StateNames.Of(plan.Kind),
        1 => index.ToString(CultureInfo.InvariantCulture),
        2 => plan.Steps[index].Kind,
        _ => Description,
    };
}
