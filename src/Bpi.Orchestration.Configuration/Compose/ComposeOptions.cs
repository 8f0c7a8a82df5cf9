namespace Bpi.Orchestration.Configuration.Compose;

/// <summary>How <see cref="ComposeDocument"/> reads a compose file.</summary>
public sealed class ComposeOptions
{
    /// <summary>
    /// Whether a key the orchestrator cannot honour (a <c>build</c>, a bind mount, a fixed host port, …) refuses the
    /// whole file, with every such key listed by path. When <see langword="false"/> (lenient), those keys are dropped
    /// and listed in <see cref="ComposeDocument.Warnings"/> instead. Malformed values refuse the file either way.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Strict { get; set; } = true;

    /// <summary>The deployment's name; <see langword="null"/> uses the file's top-level <c>name</c>, else the name of the directory holding it.</summary>
    public string? Name { get; set; }

    /// <summary>The application id; <see langword="null"/> uses the deployment's name.</summary>
    public string? AppId { get; set; }

    /// <summary>The deployment's environment (for example <c>staging</c>); <see langword="null"/> keeps the spec's default.</summary>
    public string? DeploymentEnvironment { get; set; }

    /// <summary>
    /// The variables <c>${VAR}</c>, <c>${VAR:-default}</c>, <c>${VAR-default}</c>, <c>${VAR:?message}</c> and <c>$VAR</c>
    /// are replaced with (and a service's <c>environment</c> entry without a value takes);
    /// <see langword="null"/> uses the current process's environment variables.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Environment { get; set; }

    /// <summary>
    /// The directory relative <c>env_file</c> paths are read from; <see langword="null"/> uses the compose file's own
    /// directory (<see cref="ComposeDocument.LoadAsync"/>) or the current directory (<see cref="ComposeDocument.Parse"/>).
    /// </summary>
    public string? BaseDirectory { get; set; }

    /// <summary>What the file is called in every message; <see langword="null"/> uses the path, or <c>compose file</c>.</summary>
    public string? Source { get; set; }
}
