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
    public static Task<DeploymentSpec> LoadFileAsync(string path, ConfigOverrides overrides, CancellationToken cancellationToken)
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

        var json = DeploymentDocument.FormatOf(path) == DeploymentDocumentFormat.Json;
        return Task.FromResult(Load(text, json, path, Path.GetDirectoryName(Path.GetFullPath(path))!, overrides));
    }

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
