namespace Bpi.Orchestration.Auditing;

/// <summary>Audit details given as name/value pairs, kept in one array.</summary>
internal sealed class AuditData(KeyValuePair<string, string?>[] pairs) : AuditDetails
{
    public override int Count => pairs.Length;

    protected override string NameAt(int index) => pairs[index].Key;

    protected override string? ValueAt(int index) => pairs[index].Value;
}
