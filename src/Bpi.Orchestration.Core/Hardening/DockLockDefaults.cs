namespace Bpi.Orchestration.Hardening;

/// <summary>
/// The host-wide DockLock defaults (named as the Docker runtime's options name them) a component's settings are resolved over (<see cref="DockLockEffectiveSettings.Resolve"/>).
/// The runtime that applies them owns them: the Docker runtime takes them from its options (<c>DockerRuntimeOptions</c>)
/// and publishes them as the host's <see cref="DockLockDefaults"/> service, which the Security package's assessment
/// reads (into <c>SecurityOptions.DockLock</c>), so a default is changed in one place.
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
