using System.Globalization;
using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Auditing;

/// <summary>
/// The audit details of a plan run that ended serving a revision (<c>revision</c>, <c>kind</c>): one small object per
/// entry, the number spelled out only when read.
/// </summary>
internal sealed class CompletionAudit(int revision, RolloutKind kind) : AuditDetails
{
    private static readonly string[] KeyNames = ["revision", "kind"];

    public override int Count => KeyNames.Length;

    protected override string NameAt(int position) => KeyNames[position];

    protected override string? ValueAt(int position) => position == 0 ? revision.ToString(CultureInfo.InvariantCulture) : StateNames.Of(kind);
}
