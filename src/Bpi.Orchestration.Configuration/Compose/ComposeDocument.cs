namespace Bpi.Orchestration.Configuration.Compose;

/// <summary>
/// A Docker Compose file read as one multi-component <see cref="DeploymentSpec"/> of
/// <see cref="DeploymentType.DockLockContainer"/> containers: each service becomes a component (in dependency order),
/// with its image, command and entry point, environment (map or list) and <c>env_file</c>, container ports, named
/// volumes, <c>depends_on</c> (<c>service_started</c> or <c>service_healthy</c>), <c>healthcheck</c> (an exec probe
/// with the same interval, timeout, retries and start period), <c>deploy.replicas</c>,
/// <c>deploy.resources.limits</c> and <c>restart</c>; <c>${VAR}</c> and <c>${VAR:-default}</c> are interpolated.
/// Anything the orchestrator cannot honour is listed by path (for example <c>services.web.build</c>), every one at
/// once: <see cref="ComposeOptions.Strict"/> refuses the file, lenient mode drops them and returns them as
/// <see cref="Warnings"/>.
/// </summary>
public sealed class ComposeDocument
{
    private ComposeDocument(DeploymentSpec spec, IReadOnlyList<string> warnings)
    {
        Spec = spec;
        Warnings = warnings;
    }

    /// <summary>The deployment the file describes (validated).</summary>
    public DeploymentSpec Spec { get; }

    /// <summary>In lenient mode, what was dropped, one sentence per key with its path; empty in strict mode.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The largest compose file read, in bytes (1 MiB, as for deployment documents).</summary>
    public const int MaxFileBytes = DeploymentDocument.MaxDocumentChars;

    /// <summary>Reads a compose file's text.</summary>
    /// <param name="text">The YAML text.</param>
    /// <param name="options">How to read it; <see langword="null"/> for the defaults (strict).</param>
    /// <returns>The deployment and, in lenient mode, what was dropped.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/> listing every problem with its path.</exception>
    public static ComposeDocument Parse(string text, ComposeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        options ??= new ComposeOptions();
        var (spec, warnings) = ComposeReader.Read(text, options, options.Source ?? "compose file", options.BaseDirectory ?? Directory.GetCurrentDirectory(), defaultName: null, dotEnv: null);
        return new ComposeDocument(spec, warnings);
    }

    /// <summary>
    /// Reads a compose file from disk. Relative <c>env_file</c> paths are read next to it, a <c>.env</c> file next to it
    /// supplies variables the environment does not, and the deployment is named after its directory unless the file
    /// or <paramref name="options"/> names it.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="options">How to read it; <see langword="null"/> for the defaults (strict).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The deployment and, in lenient mode, what was dropped.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/> listing every problem with its path, or naming a file that cannot be read.</exception>
    public static async Task<ComposeDocument> LoadAsync(string path, ComposeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new ComposeOptions();
        var full = System.IO.Path.GetFullPath(path);
        var source = options.Source ?? path;
        var directory = System.IO.Path.GetDirectoryName(full) ?? Directory.GetCurrentDirectory();
        var text = await ComposeFiles.ReadTextAsync(full, source, "the compose file", cancellationToken).ConfigureAwait(false);
        var dotEnvPath = System.IO.Path.Combine(directory, ".env");
        IReadOnlyDictionary<string, string>? dotEnv = null;
        if (File.Exists(dotEnvPath))
        {
            var errors = new List<string>();
            dotEnv = ComposeFiles.ParseEnvFile(await ComposeFiles.ReadTextAsync(dotEnvPath, source, ".env", cancellationToken).ConfigureAwait(false), ".env", errors);
            if (errors.Count > 0)
            {
                throw OrchestrationException.InvalidConfiguration(ComposeReader.Subject(source), errors);
            }
        }

        var (spec, warnings) = ComposeReader.Read(text, options, source, options.BaseDirectory ?? directory, System.IO.Path.GetFileName(directory), dotEnv);
        return new ComposeDocument(spec, warnings);
    }
}
