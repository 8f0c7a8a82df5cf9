using System.Text.Json;
using System.Text.Json.Serialization;
using Bpi.Orchestration.Security.Checks;

namespace Bpi.Orchestration.Security.Compliance;

/// <summary>One control of a framework and the checks whose results are evidence for it.</summary>
/// <param name="Id">The control's id in the framework, for example <c>CC6.1</c> or <c>2.2.1</c>.</param>
/// <param name="Title">The control's title.</param>
/// <param name="Checks">The ids of the checks that are evidence for it (empty: a manual control the SDK cannot assess).</param>
/// <param name="Interpretation">Why those checks are evidence for the control, in a sentence or two.</param>
public sealed record ComplianceControl(string Id, string Title, IReadOnlyList<string> Checks, string Interpretation);

/// <summary>A framework (SOC 2, ISO 27001:2022, PCI DSS 4.0, …) with its controls.</summary>
/// <param name="Id">A short id, for example <c>soc2</c> or <c>pci-dss-4.0</c>.</param>
/// <param name="Title">The framework's name.</param>
/// <param name="Version">The version of the framework the controls are taken from.</param>
/// <param name="Controls">The mapped controls.</param>
public sealed record ComplianceFramework(string Id, string Title, string Version, IReadOnlyList<ComplianceControl> Controls);

/// <summary>
/// Mappings from checks to controls of compliance frameworks, shipped as data (an embedded JSON file) that a host can
/// extend or replace (<see cref="SecurityOptions.ComplianceMappings"/>). The mappings are an interpretation, not an official
/// crosswalk; reports built from them are evidence for controls, never a certification.
/// </summary>
public sealed class ComplianceCatalog
{
    private const string ResourceName = "Bpi.Orchestration.Security.compliance-mappings.json";
    private static readonly Lazy<ComplianceCatalog> BuiltInCatalog = new(LoadBuiltIn);

    private ComplianceCatalog(string version, string disclaimer, IReadOnlyList<ComplianceFramework> frameworks)
    {
        Version = version;
        Disclaimer = disclaimer;
        Frameworks = frameworks;
    }

    /// <summary>The mapping set's version, written into reports.</summary>
    public string Version { get; }

    /// <summary>The statement every report carries: the mappings are an interpretation and a report is evidence, not certification.</summary>
    public string Disclaimer { get; }

    /// <summary>The frameworks, by id order of the source.</summary>
    public IReadOnlyList<ComplianceFramework> Frameworks { get; }

    /// <summary>The mappings shipped with the package: CIS Docker Benchmark v1.6.0, NIST SP 800-190 and 800-53 Rev. 5, SOC 2, ISO/IEC 27001:2022, PCI DSS v4.0, HIPAA and GDPR.</summary>
    public static ComplianceCatalog BuiltIn => BuiltInCatalog.Value;

    /// <summary>Returns a framework by id (case-insensitive).</summary>
    /// <param name="id">The framework's id.</param>
    /// <returns>The framework.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/>: no framework has that id.</exception>
    public ComplianceFramework GetFramework(string id)
        => Frameworks.FirstOrDefault(f => string.Equals(f.Id, id, StringComparison.OrdinalIgnoreCase))
            ?? throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"No compliance framework has the id '{id}'; known: {string.Join(", ", Frameworks.Select(f => f.Id))}.");

    /// <summary>
    /// Parses a mapping document: <c>{"version": "…", "disclaimer": "…", "frameworks": [{"id", "title", "version", "controls": [{"id", "title", "checks": ["BPI-SEC-001"], "interpretation"}]}]}</c>.
    /// Every problem (unknown check ids, missing fields, duplicates) is listed at once.
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The catalogue.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the document is invalid.</exception>
    public static ComplianceCatalog Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        MappingDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(json, ComplianceJsonContext.Default.MappingDocument);
        }
        catch (JsonException ex)
        {
            throw OrchestrationException.InvalidConfiguration("The compliance mapping document", [$"it is not valid JSON: {ex.Message}"]);
        }

        var errors = new List<string>();
        if (document is null)
        {
            throw OrchestrationException.InvalidConfiguration("The compliance mapping document", ["it is empty (null)"]);
        }

        var frameworks = new List<ComplianceFramework>();
        foreach (var (f, i) in (document.Frameworks ?? []).Select((f, i) => (f, i)))
        {
            var where = $"frameworks[{i}]" + (string.IsNullOrWhiteSpace(f.Id) ? "" : $" ('{f.Id}')");
            if (string.IsNullOrWhiteSpace(f.Id))
            {
                errors.Add($"{where}.id is missing.");
            }

            var controls = new List<ComplianceControl>();
            foreach (var (c, j) in (f.Controls ?? []).Select((c, j) => (c, j)))
            {
                var cwhere = $"{where}.controls[{j}]" + (string.IsNullOrWhiteSpace(c.Id) ? "" : $" ('{c.Id}')");
                if (string.IsNullOrWhiteSpace(c.Id))
                {
                    errors.Add($"{cwhere}.id is missing.");
                }

                if (string.IsNullOrWhiteSpace(c.Interpretation))
                {
                    errors.Add($"{cwhere}.interpretation is missing; say why the checks are evidence for the control.");
                }

                foreach (var check in (c.Checks ?? []).Where(k => !SecurityCheckCatalog.Contains(k)))
                {
                    errors.Add($"{cwhere}.checks has '{check}', which is not a check id (BPI-SEC-001 … BPI-SEC-{SecurityCheckCatalog.All.Count:000}).");
                }

                if (controls.Any(x => string.Equals(x.Id, c.Id, StringComparison.Ordinal)))
                {
                    errors.Add($"{cwhere}.id '{c.Id}' appears twice in the framework.");
                }

                controls.Add(new ComplianceControl(c.Id ?? "", c.Title ?? c.Id ?? "", [.. (c.Checks ?? []).Distinct(StringComparer.Ordinal)], c.Interpretation ?? ""));
            }

            if (frameworks.Any(x => string.Equals(x.Id, f.Id, StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add($"{where}.id '{f.Id}' appears twice.");
            }

            frameworks.Add(new ComplianceFramework(f.Id ?? "", f.Title ?? "", f.Version ?? "", controls));  // An empty title or version keeps the base one when merged.
        }

        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration("The compliance mapping document", errors);
        }

        return new ComplianceCatalog(document.Version ?? "custom", document.Disclaimer ?? BuiltInDisclaimerOrDefault(), frameworks);
    }

    /// <summary>
    /// Returns a catalogue with <paramref name="extension"/>'s frameworks merged over this one's: a framework with a new id is
    /// added; for an existing id, controls with new ids are added and controls with existing ids are replaced.
    /// </summary>
    /// <param name="extension">The mappings to merge in.</param>
    /// <returns>The merged catalogue.</returns>
    public ComplianceCatalog Merge(ComplianceCatalog extension)
    {
        ArgumentNullException.ThrowIfNull(extension);
        var frameworks = Frameworks.ToList();
        foreach (var framework in extension.Frameworks)
        {
            var index = frameworks.FindIndex(f => string.Equals(f.Id, framework.Id, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                frameworks.Add(framework);
                continue;
            }

            var existing = frameworks[index];
            var controls = existing.Controls.ToList();
            foreach (var control in framework.Controls)
            {
                var c = controls.FindIndex(x => string.Equals(x.Id, control.Id, StringComparison.Ordinal));
                if (c < 0)
                {
                    controls.Add(control);
                }
                else
                {
                    controls[c] = control;
                }
            }

            frameworks[index] = existing with
            {
                Title = string.IsNullOrWhiteSpace(framework.Title) ? existing.Title : framework.Title,
                Version = string.IsNullOrWhiteSpace(framework.Version) ? existing.Version : framework.Version,
                Controls = controls,
            };
        }

        return new ComplianceCatalog(Version + "+" + extension.Version, Disclaimer, frameworks);
    }

    private static string BuiltInDisclaimerOrDefault()
        => "These mappings are an interpretation, not an official crosswalk. A report is evidence for controls, not a certification of compliance.";

    private static ComplianceCatalog LoadBuiltIn()
    {
        using var stream = typeof(ComplianceCatalog).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    internal sealed class MappingDocument
    {
        public string? Version { get; set; }

        public string? Disclaimer { get; set; }

        public List<FrameworkDocument>? Frameworks { get; set; }
    }

    internal sealed class FrameworkDocument
    {
        public string? Id { get; set; }

        public string? Title { get; set; }

        public string? Version { get; set; }

        public List<ControlDocument>? Controls { get; set; }
    }

    internal sealed class ControlDocument
    {
        public string? Id { get; set; }

        public string? Title { get; set; }

        public List<string>? Checks { get; set; }

        public string? Interpretation { get; set; }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(ComplianceCatalog.MappingDocument))]
internal sealed partial class ComplianceJsonContext : JsonSerializerContext;
