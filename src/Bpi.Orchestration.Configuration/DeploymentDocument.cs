using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bpi.Orchestration.Configuration;

/// <summary>
/// Reads a deployment document — a YAML or JSON config file, an HTTP body — into a <see cref="DeploymentSpec"/>.
/// Every problem is listed at once with its path: syntax, unknown fields, wrong types, and the SDK's validation of the
/// spec. The format is documented in this package's README.
/// </summary>
public static class DeploymentDocument
{
    /// <summary>The largest document accepted, in characters (1 MiB).</summary>
    public const int MaxDocumentChars = YamlJson.MaxDocumentChars;

    /// <summary>The deepest nesting of lists and objects accepted.</summary>
    public const int MaxDepth = YamlJson.MaxDepth;

    /// <summary>The most entries one list or object may have.</summary>
    public const int MaxEntries = YamlJson.MaxEntries;

    /// <summary>The longest value or key accepted, in characters (64 KiB).</summary>
    public const int MaxScalarChars = YamlJson.MaxScalarChars;

    /// <summary>
    /// The address (<c>$id</c>) of the document's JSON Schema; a document names it in <c>$schema</c> so that editors
    /// complete and check it. The schema is also checked in as <c>docs/schema/deployment.schema.json</c>.
    /// </summary>
    public const string JsonSchemaId = DocumentSchema.Id;

    /// <summary>
    /// The JSON Schema (draft 2020-12) of the native document: every field with its type, range, default and meaning,
    /// enum values, strategy names from <see cref="StrategySpecRegistry"/>. A valid document can still be refused by
    /// <see cref="Parse(string, DeploymentDocumentFormat, string, DeploymentDocumentOptions?)"/> for what a schema
    /// cannot say (duplicate ids, dependency cycles, subnets outside the VPC); the seed's snake_case body is not
    /// described.
    /// </summary>
    public static string JsonSchema => DocumentSchema.Text;

    /// <summary>Reads a deployment document written as text.</summary>
    /// <param name="text">The document.</param>
    /// <param name="format">YAML or JSON.</param>
    /// <param name="source">Where the document comes from (a file path, <c>request body</c>), named in every message.</param>
    /// <param name="options">Overrides and command resolution; <see langword="null"/> for none.</param>
    /// <returns>The spec, valid as a whole.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/> listing every problem with its path.</exception>
    public static DeploymentSpec Parse(string text, DeploymentDocumentFormat format, string source, DeploymentDocumentOptions? options = null)
        => Parse(ReadTree(text, format, source), source, options);

    /// <summary>Reads a deployment document already parsed as JSON (an HTTP body), without serializing it again.</summary>
    /// <param name="document">The document's root element.</param>
    /// <param name="source">Where the document comes from, named in every message.</param>
    /// <param name="options">Overrides and command resolution; <see langword="null"/> for none.</param>
    /// <returns>The spec, valid as a whole.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/> listing every problem with its path.</exception>
    public static DeploymentSpec Parse(JsonElement document, string source, DeploymentDocumentOptions? options = null)
        => Parse(YamlJson.FromElement(document, source), source, options);

    /// <summary>Reads a deployment document held as a JSON node tree.</summary>
    /// <param name="document">The document's root node.</param>
    /// <param name="source">Where the document comes from, named in every message.</param>
    /// <param name="options">Overrides and command resolution; <see langword="null"/> for none.</param>
    /// <returns>The spec, valid as a whole.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/> listing every problem with its path.</exception>
    public static DeploymentSpec Parse(JsonNode? document, string source, DeploymentDocumentOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (document is not JsonObject obj)
        {
            throw OrchestrationException.InvalidConfiguration(Subject(source), [$"the document must be an object with name, appId and components, not {ConfigObject.Describe(document)}."]);
        }

        var errors = new List<string>();
        options ??= new DeploymentDocumentOptions();
        if (SeedMapper.IsSeed(obj))
        {
            var seed = SeedMapper.Map(new ConfigObject(obj, "", errors), options);
            ProblemList.AddSpecProblems(errors, [.. seed.Validate().Select(p => SeedMapper.Translate(EncClusterMapper.Translate(p)))]);
            return errors.Count > 0 ? throw OrchestrationException.InvalidConfiguration(Subject(source), errors) : seed;
        }

        var spec = DeploymentMapper.Map(new ConfigObject(obj, "", errors), options);
        ProblemList.AddSpecProblems(errors, [.. spec.Validate().Select(EncClusterMapper.Translate)]);
        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration(Subject(source), errors);
        }

        return spec;
    }

    /// <summary>
    /// Parses text into a JSON node tree within the document limits (<see cref="MaxDocumentChars"/>,
    /// <see cref="MaxDepth"/>, <see cref="MaxEntries"/>, <see cref="MaxScalarChars"/>; no duplicate keys, one YAML
    /// document, no YAML aliases), without mapping it: for tools that rewrite a document.
    /// </summary>
    /// <param name="text">The document.</param>
    /// <param name="format">YAML or JSON.</param>
    /// <param name="source">Where the document comes from, named in every message.</param>
    /// <returns>The tree; <see langword="null"/> for an empty YAML document or a JSON <c>null</c>.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/> with the position of the problem.</exception>
    public static JsonNode? ReadTree(string text, DeploymentDocumentFormat format, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        return YamlJson.Parse(text, format == DeploymentDocumentFormat.Json, source);
    }

    /// <summary>The format a file name implies: JSON when it ends in <c>.json</c> (any case), YAML otherwise.</summary>
    /// <param name="path">The file name or path.</param>
    /// <returns>The format.</returns>
    public static DeploymentDocumentFormat FormatOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? DeploymentDocumentFormat.Json : DeploymentDocumentFormat.Yaml;
    }

    /// <summary>Parses a duration as documents write it: <c>500ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, a number of seconds, or <c>hh:mm:ss</c>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="duration">The duration, when the text is one.</param>
    /// <returns>Whether the text is a duration a <see cref="TimeSpan"/> can hold.</returns>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ConfigObject.TryParseDuration(text, out duration);
    }

    internal static string Subject(string source) => $"Deployment document '{source}'";
}
