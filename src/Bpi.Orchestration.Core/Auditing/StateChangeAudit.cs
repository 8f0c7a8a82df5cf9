namespace Bpi.Orchestration.Auditing;

/// <summary>The audit details of a state change (<c>from</c>, <c>to</c>, <c>message</c>): one small object per entry.</summary>
internal sealed class StateChangeAudit(DeploymentState from, DeploymentState to, string? message) : AuditDetails
{
    private static readonly string[] KeyNames = ["from", "to", "message"];

    public override int Count => KeyNames.Length;

    protected override string NameAt(int position) => KeyNames[position];

    protected override string? ValueAt(int position) => position switch
    {
        0 => StateNames.Of(from),
        1 => StateNames.Of(to),
        _ => message,
    };
}
