namespace Bpi.Orchestration.Security.Checks;

/// <summary>
/// The checks the assessor runs, with stable ids <c>BPI-SEC-001</c> … <c>BPI-SEC-033</c>. Container checks are evaluated
/// per component (spec) or per running container (<c>docker inspect</c>); a check fails once for a deployment when any
/// container fails it. References name CIS Docker Benchmark v1.6.0 ids, Pod Security Standards controls and Trivy ids.
/// </summary>
public static partial class SecurityCheckCatalog
{
    /// <summary>The version of the catalogue and scoring model, written into every assessment and report.</summary>
    public const string Version = "bpi-sec-v1";

    private static readonly Dictionary<string, CatalogEntry> ById;

#pragma warning disable CA1810 // The definitions live in another part of this class; a static constructor runs after all their initializers.
    static SecurityCheckCatalog()
#pragma warning restore CA1810
    {
        ById = Definitions.ToDictionary(e => e.Check.Id, StringComparer.Ordinal);
        All = [.. Definitions.Select(e => e.Check)];
    }

    /// <summary>Every check, ordered by id.</summary>
    public static IReadOnlyList<SecurityCheck> All { get; }

    /// <summary>Returns the check with an id.</summary>
    /// <param name="id">The id, for example <c>BPI-SEC-001</c>.</param>
    /// <returns>The check.</returns>
    /// <exception cref="KeyNotFoundException">No check has that id.</exception>
    public static SecurityCheck Get(string id) => ById.TryGetValue(id, out var entry) ? entry.Check : throw new KeyNotFoundException($"No security check has the id '{id}'; see SecurityCheckCatalog.All.");

    /// <summary>Whether a check with this id exists.</summary>
    /// <param name="id">The id.</param>
    /// <returns>Whether it exists.</returns>
    public static bool Contains(string id) => ById.ContainsKey(id);

    internal static IReadOnlyList<CatalogEntry> Entries => Definitions;
}

/// <summary>A check and how it is evaluated: per container, or once per deployment.</summary>
internal sealed record CatalogEntry(
    SecurityCheck Check,
    Func<ContainerProfile, AssessmentContext, CheckVerdict>? PerContainer,
    Func<AssessmentContext, CheckVerdict>? PerDeployment = null);
