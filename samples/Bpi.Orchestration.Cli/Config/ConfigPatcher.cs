using System.Text.Json;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Configuration;
using YamlDotNet.RepresentationModel;

namespace Bpi.Orchestration.Cli.Config;

/// <summary>
/// Writes a hardened config: the original config document with each component's security-relevant fields
/// (<c>image</c>, <c>environment</c>, <c>secrets</c>, <c>runtimeSettings</c>) and <c>security.encryptionLevel</c> replaced by the hardened spec's, everything
/// else (strategy, validation, labels, relative command paths) kept as written. YAML or JSON by the target's extension.
/// Comments of a YAML original are not kept.
/// </summary>
internal static class ConfigPatcher
{
    public static async Task WriteAsync(string originalPath, DeploymentSpec original, DeploymentSpec hardened, string targetPath, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var text = Hosting.InputFiles.ReadText(originalPath, Hosting.InputFiles.MaxConfigBytes, "config file");
        var root = DeploymentDocument.ReadTree(text, DeploymentDocument.FormatOf(originalPath), originalPath) as JsonObject
            ?? throw OrchestrationException.InvalidConfiguration($"Config file '{originalPath}'", ["the document must be an object."]);
        if (root["components"] is JsonArray components)
        {
            foreach (var node in components.OfType<JsonObject>())
            {
                var id = node["id"] is JsonValue idValue && idValue.TryGetValue<string>(out var written) ? written : null;
                var before = original.Components.FirstOrDefault(c => c.Id == id);
                var after = hardened.Components.FirstOrDefault(c => c.Id == id);
                if (before is null || after is null)
                {
                    continue;
                }

                if (!string.Equals(before.Image, after.Image, StringComparison.Ordinal))
                {
                    node["image"] = after.Image;
                }

                Patch(node, "environment", before.Environment, after.Environment);
                Patch(node, "secrets", before.Secrets, after.Secrets);
                Patch(node, "runtimeSettings", before.RuntimeSettings, after.RuntimeSettings);
            }
        }

        if (original.Infrastructure.Security.EncryptionLevel != hardened.Infrastructure.Security.EncryptionLevel)
        {
            // Where the document writes it: infrastructure.security when that exists, else the top-level security block.
            var owner = root["infrastructure"] is JsonObject { } infrastructure && infrastructure["security"] is JsonObject ? infrastructure : root;
            if (owner["security"] is not JsonObject security)
            {
                owner["security"] = security = new JsonObject();
            }

            security["encryptionLevel"] = hardened.Infrastructure.Security.EncryptionLevel.ToString();
        }

        var json = targetPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        var output = json ? root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n" : ToYaml(root);
        var directory = Path.GetDirectoryName(Path.GetFullPath(targetPath));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        await File.WriteAllTextAsync(targetPath, output, cancellationToken).ConfigureAwait(false);
    }

    private static void Patch(JsonObject component, string field, IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after)
    {
        if (before.Count == after.Count && before.All(kv => after.TryGetValue(kv.Key, out var v) && v == kv.Value))
        {
            return;
        }

        if (after.Count == 0)
        {
            component.Remove(field);
            return;
        }

        var map = new JsonObject();
        foreach (var (key, value) in after.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            map[key] = value;
        }

        component[field] = map;
    }

    private static string ToYaml(JsonNode root)
    {
        using var writer = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        new YamlStream(new YamlDocument(ToYamlNode(root))).Save(writer, assignAnchors: false);
        var yaml = writer.ToString().TrimEnd();
        return (yaml.EndsWith("...", StringComparison.Ordinal) ? yaml[..^3].TrimEnd() : yaml) + "\n";
    }

    private static YamlNode ToYamlNode(JsonNode? node) => node switch
    {
        JsonObject obj => new YamlMappingNode(obj.Select(p => new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(p.Key), ToYamlNode(p.Value)))),
        JsonArray array => new YamlSequenceNode(array.Select(ToYamlNode)),
        JsonValue value when value.GetValueKind() == JsonValueKind.String => new YamlScalarNode(value.GetValue<string>()) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted },
        JsonValue value => new YamlScalarNode(value.ToJsonString()) { Style = YamlDotNet.Core.ScalarStyle.Plain },
        _ => new YamlScalarNode("null") { Style = YamlDotNet.Core.ScalarStyle.Plain },
    };
}
