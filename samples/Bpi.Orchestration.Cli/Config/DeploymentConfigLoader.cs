using Bpi.Orchestration.Configuration;

namespace Bpi.Orchestration.Cli.Config;

/// <summary>What the command line overrides in a config file.</summary>
internal sealed record ConfigOverrides
{
    public string? Name { get; init; }

    public string? AppId { get; init; }

    public DeploymentType? Type { get; init; }

    public string? Strategy { get; init; }
}

/// <summary>
/// Loads a deployment config file (YAML, or JSON when the file ends in <c>.json</c>) through the Configuration
/// package's <see cref="DeploymentDocument"/>, adding what only a command line has: the <c>--name</c>/<c>--app-id</c>/
/// <c>--type</c>/<c>--strategy</c> overrides, and relative <c>.dll</c>/<c>.csproj</c> commands and working directories
/// resolved against the file's directory.
/// </summary>
internal static class DeploymentConfigLoader
{
    public static async Task<DeploymentSpec> LoadFileAsync(string path, ConfigOverrides overrides, CancellationToken cancellationToken)
        => (await LoadFileWithRuntimeAsync(path, overrides, cancellationToken).ConfigureAwait(false)).Spec;

    /// <summary>
    /// Loads a config file and the runtime its top-level <c>runtime:</c> names (<c>process</c>, <c>docker</c> or
    /// <c>kubernetes</c>; <see langword="null"/> when absent). The key belongs to the CLI, not to the deployment document.
    /// </summary>
    public static Task<(DeploymentSpec Spec, string? Runtime)> LoadFileWithRuntimeAsync(string path, ConfigOverrides overrides, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            // A regular file of at most 1 MiB: a FIFO, device or directory is refused before anything is read.
            text = Hosting.InputFiles.ReadText(path, Hosting.InputFiles.MaxConfigBytes, "config file");
        }
        catch (CliException ex) when (ex.ExitCode == ExitCodes.NotFound)
        {
            throw OrchestrationException.InvalidConfiguration($"Config file '{path}'", ["the file does not exist."]);
        }

        var format = DeploymentDocument.FormatOf(path);
        var tree = DeploymentDocument.ReadTree(text, format, path);
        string? runtime = null;
        if (tree is System.Text.Json.Nodes.JsonObject root && root.ContainsKey("runtime"))
        {
            var node = root["runtime"];
            runtime = node is System.Text.Json.Nodes.JsonValue value && value.TryGetValue<string>(out var name) ? name : null;
            if (runtime is not (Hosting.RuntimeSelection.Process or Hosting.RuntimeSelection.Docker or Hosting.RuntimeSelection.Kubernetes))
            {
                throw OrchestrationException.InvalidConfiguration($"Deployment document '{path}'", [$"runtime: '{node?.ToJsonString()}' is not a runtime; use process, docker or kubernetes."]);
            }

            root.Remove("runtime");
        }

        var baseDirectory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var spec = DeploymentDocument.Parse(tree, path, Options(overrides, baseDirectory));
        return Task.FromResult((spec, runtime));
    }

    private static DeploymentDocumentOptions Options(ConfigOverrides overrides, string baseDirectory) => new()
    {
        Name = overrides.Name,
        AppId = overrides.AppId,
        Type = overrides.Type,
        Strategy = overrides.Strategy,
        ResolveCommand = command => Resolve(command, baseDirectory),
    };

    /// <summary>Parses and maps a config document; <paramref name="baseDirectory"/> resolves relative <c>.dll</c>/<c>.csproj</c> commands.</summary>
    public static DeploymentSpec Load(string text, bool json, string source, string baseDirectory, ConfigOverrides overrides)
        => DeploymentDocument.Parse(text, json ? DeploymentDocumentFormat.Json : DeploymentDocumentFormat.Yaml, source, new DeploymentDocumentOptions
        {
            Name = overrides.Name,
            AppId = overrides.AppId,
            Type = overrides.Type,
            Strategy = overrides.Strategy,
            ResolveCommand = command => Resolve(command, baseDirectory),
        });

    private static CommandSpec Resolve(CommandSpec command, string baseDirectory)
    {
        var fileName = command.FileName;
        var workingDirectory = command.WorkingDirectory;

        // A .dll or .csproj next to the config file is found from anywhere.
        if (!Path.IsPathRooted(fileName) && (fileName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || fileName.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase) || fileName.StartsWith("./", StringComparison.Ordinal) || fileName.StartsWith("../", StringComparison.Ordinal)))
        {
            fileName = Path.GetFullPath(Path.Combine(baseDirectory, fileName));
        }

        // A relative working directory is relative to the config file, like a relative command (not to the current directory).
        if (workingDirectory is { Length: > 0 } && !Path.IsPathRooted(workingDirectory))
        {
            workingDirectory = Path.GetFullPath(Path.Combine(baseDirectory, workingDirectory));
        }

        return command with { FileName = fileName, WorkingDirectory = workingDirectory };
    }
}
