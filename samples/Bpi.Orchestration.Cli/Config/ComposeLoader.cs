using Bpi.Orchestration.Configuration;
using Bpi.Orchestration.Configuration.Compose;

namespace Bpi.Orchestration.Cli.Config;

/// <summary>
/// <c>deploy --compose</c> / <c>update --compose</c>: a Docker Compose file read by the Configuration package's
/// <see cref="ComposeDocument"/> (variables from the CLI's environment and a <c>.env</c> next to the file), with the
/// command line's <c>--name</c>/<c>--app-id</c>/<c>--type</c>/<c>--strategy</c> overrides.
/// </summary>
internal static class ComposeLoader
{
    public static async Task<(DeploymentSpec Spec, IReadOnlyList<string> Warnings)> LoadAsync(string path, bool lenient, ConfigOverrides overrides, Func<string, string?> getVariable, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw OrchestrationException.InvalidConfiguration($"Compose file '{path}'", ["the file does not exist."]);
        }

        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && getVariable(key) is { } value)
            {
                variables[key] = value;
            }
        }

        var document = await ComposeDocument.LoadAsync(full, new ComposeOptions { Strict = !lenient, Name = overrides.Name, AppId = overrides.AppId, Environment = variables, Source = path }, cancellationToken).ConfigureAwait(false);
        var spec = document.Spec;
        if (overrides.Type is { } type)
        {
            spec = spec with { Type = type };
        }

        if (overrides.Strategy is { } strategy)
        {
            // The strategy's defaults as a deployment document maps them, so `--strategy canary` means the same for both inputs.
            spec = spec with { Strategy = DeploymentDocument.Parse("name: s\nappId: s\ncomponents: [{ id: c, image: c }]\n", DeploymentDocumentFormat.Yaml, "--strategy", new DeploymentDocumentOptions { Strategy = strategy }).Strategy };
        }

        spec.EnsureValid();
        return (spec, document.Warnings);
    }
}
