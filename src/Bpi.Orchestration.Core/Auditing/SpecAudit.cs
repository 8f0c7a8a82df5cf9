using System.Globalization;
using System.Runtime.CompilerServices;

namespace Bpi.Orchestration.Auditing;

/// <summary>
/// The audit details of an accepted spec: name, app, environment, type, strategy, revision, components (<c>web x3</c>
/// as <c>webx3</c>, comma-separated) and, when the spec's component managers note something, <c>notes</c>.
/// </summary>
/// <remarks>
/// Made when a deployment or update is accepted, read only when someone reads the entry (a durable store writing it, a
/// test, an export): the values are described from the spec on first read, not for every admission. The spec is the
/// one the record keeps, so the details hold nothing the deployment does not hold already.
/// </remarks>
internal sealed class SpecAudit(DeploymentSpec spec, int revision, Func<DeploymentSpec, string?> notes) : AuditDetails
{
    private static readonly string[] KeyNames = ["name", "app", "environment", "type", "strategy", "revision", "components", "notes"];
    private string? _notes;
    private bool _notesMade;

    public override int Count => Notes is null ? KeyNames.Length - 1 : KeyNames.Length;

    /// <summary>The managers' notes, joined with <c> | </c>; made once, <see langword="null"/> when there are none.</summary>
    private string? Notes
    {
        get
        {
            if (!Volatile.Read(ref _notesMade))
            {
                _notes = notes(spec);
                Volatile.Write(ref _notesMade, true);
            }

            return _notes;
        }
    }

    protected override string NameAt(int index) => KeyNames[index];

    protected override string? ValueAt(int index) => index switch
    {
        0 => spec.Name,
        1 => spec.AppId,
        2 => spec.Environment,
        3 => StateNames.Of(spec.Type),
        4 => spec.Strategy.Name,
        5 => revision.ToString(CultureInfo.InvariantCulture),
        6 => ComponentsText(spec.Components),
        _ => Notes,
    };

    /// <summary>The components as <c>id x replicas</c>, comma-separated: <c>web x3,db x1</c> without the spaces.</summary>
    private static string ComponentsText(IReadOnlyList<ComponentSpec> components)
    {
        var text = new DefaultInterpolatedStringHandler(components.Count, components.Count * 2, CultureInfo.InvariantCulture, stackalloc char[128]);
        for (var i = 0; i < components.Count; i++)
        {
            if (i > 0)
            {
                text.AppendLiteral(",");
            }

            text.AppendFormatted(components[i].Id);
            text.AppendLiteral("x");
            text.AppendFormatted(components[i].Replicas);
        }

        return text.ToStringAndClear();
    }
}
