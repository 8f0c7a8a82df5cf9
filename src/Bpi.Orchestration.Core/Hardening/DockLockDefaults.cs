namespace Bpi.Orchestration.Hardening;

/// <summary>
/// The host-wide DockLock defaults (named as the Docker runtime's options name them) a component's settings are resolved over (<see cref="DockLockEffectiveSettings.Resolve"/>).
/// The Docker runtime takes them from its options (<c>DockerRuntimeOptions</c>); the Security package, which does not
/// depend on the runtime, from <c>SecurityOptions.DockLock</c> — set both alike when you change a default.
/// </summary>
public sealed class DockLockDefaults
{
    /// <summary>The address ports are published on.</summary>
    /// <value>The default value is <see cref="DockLockSettings.DefaultPublishAddress"/> (<c>127.0.0.1</c>).</value>
    public string PublishAddress { get; set; } = DockLockSettings.DefaultPublishAddress;

    /// <summary>The user a container runs as while non-root is required and the image names none.</summary>
    /// <value>The default value is <see cref="DockLockSettings.DefaultNonRootUser"/> (<c>65534:65534</c>).</value>
    public string NonRootUser { get; set; } = DockLockSettings.DefaultNonRootUser;

    /// <summary>The PIDs limit of a container that sets none.</summary>
    /// <value>The default value is <see cref="DockLockSettings.DefaultPidsLimit"/> (256).</value>
    public int DefaultPidsLimit { get; set; } = DockLockSettings.DefaultPidsLimit;

    /// <summary>The restart policy of a container that sets none.</summary>
    /// <value>The default value is <see cref="DockLockSettings.DefaultRestartPolicy"/> (<c>no</c>).</value>
    public string DefaultRestartPolicy { get; set; } = DockLockSettings.DefaultRestartPolicy;
}
