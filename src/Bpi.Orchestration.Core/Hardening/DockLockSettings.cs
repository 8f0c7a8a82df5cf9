namespace Bpi.Orchestration.Hardening;

/// <summary>
/// The <see cref="ComponentSpec.RuntimeSettings"/> keys of DockLock and their defaults, in one place for the Docker
/// runtime (which applies them) and the Security package (which judges their effect); see
/// <see cref="DockLockEffectiveSettings"/> for what a component's keys resolve to. DockLock locks every container down by
/// default — no new privileges, all capabilities dropped, read-only root filesystem with a tmpfs at <c>/tmp</c>, a
/// non-root user, a PIDs limit, CPU and memory limits — and each default can be relaxed per component only together
/// with a reason (<c>{key}.reason</c>). The reason is logged and appended to the audit trail (action
/// <c>docklock.relaxation</c>); a relaxation without a reason, an unknown <c>docklock.*</c> or <c>docker.*</c> key and a
/// malformed value are <see cref="OrchestrationErrorKind.InvalidConfiguration"/> errors, all listed at once.
/// </summary>
/// <example>
/// <code>
/// RuntimeSettings = new Dictionary&lt;string, string&gt;
/// {
///     [DockLockSettings.ReadOnlyRootFilesystem] = "false",
///     [DockLockSettings.ReadOnlyRootFilesystem + DockLockSettings.ReasonSuffix] = "legacy app writes its cache under /var/cache",
///     [DockLockSettings.AddCapabilities] = "NET_BIND_SERVICE",
///     [DockLockSettings.VolumePrefix + "data"] = "/var/lib/app",
/// }
/// </code>
/// </example>
public static class DockLockSettings
{
    /// <summary>The prefix of every hardening key.</summary>
    public const string Prefix = "docklock.";

    /// <summary>The prefix of the Docker runtime's other keys (restart policy, volumes).</summary>
    public const string DockerPrefix = "docker.";

    /// <summary>Appended to a hardening key to give the reason for relaxing it, for example <c>docklock.nonRootUser.reason</c>.</summary>
    public const string ReasonSuffix = ".reason";

    /// <summary><c>true</c> (default) or <c>false</c>: the <c>no-new-privileges</c> security option (CIS Docker 5.26). <c>false</c> needs a reason.</summary>
    public const string NoNewPrivileges = Prefix + "noNewPrivileges";

    /// <summary><c>true</c> (default) or <c>false</c>: drop every Linux capability (<c>CapDrop=ALL</c>). <c>false</c> keeps Docker's default set and needs a reason.</summary>
    public const string DropAllCapabilities = Prefix + "dropAllCapabilities";

    /// <summary>A comma-separated list of capabilities to add back, for example <c>NET_BIND_SERVICE,CHOWN</c>. An explicit add needs no reason (it is logged); <c>ALL</c> is refused.</summary>
    public const string AddCapabilities = Prefix + "capAdd";

    /// <summary><c>true</c> (default) or <c>false</c>: a read-only root filesystem with a tmpfs at <c>/tmp</c> (CIS Docker 5.13). <c>false</c> needs a reason.</summary>
    public const string ReadOnlyRootFilesystem = Prefix + "readOnlyRootFilesystem";

    /// <summary>
    /// <c>true</c> (default) or <c>false</c>: run as a non-root user — the image's own user when it names a non-root one,
    /// otherwise the host's non-root user (<see cref="DockLockDefaults.NonRootUser"/>, the Docker runtime's <c>NonRootUser</c>). <c>false</c> (run as the image's user, root included) needs a reason.
    /// </summary>
    public const string NonRootUser = Prefix + "nonRootUser";

    /// <summary>The user to run as, <c>uid[:gid]</c> or a name the image knows; must not be root unless <see cref="NonRootUser"/> is relaxed.</summary>
    public const string User = Prefix + "user";

    /// <summary>A positive number to change the PIDs limit (default <see cref="DockLockDefaults.DefaultPidsLimit"/>, the Docker runtime's <c>DefaultPidsLimit</c>), or <c>unlimited</c>, which needs a reason.</summary>
    public const string PidsLimit = Prefix + "pidsLimit";

    /// <summary><c>true</c> (default) or <c>false</c>: apply the component's CPU and memory (<see cref="ComponentResources"/>) as hard limits, which must then be positive. <c>false</c> needs a reason.</summary>
    public const string ResourceLimits = Prefix + "resourceLimits";

    /// <summary>The restart policy: <c>no</c>, <c>on-failure</c>, <c>on-failure:N</c>, <c>unless-stopped</c> or <c>always</c> (default <see cref="DockLockDefaults.DefaultRestartPolicy"/>, the Docker runtime's <c>DefaultRestartPolicy</c>).</summary>
    public const string RestartPolicy = DockerPrefix + "restartPolicy";

    /// <summary>
    /// The prefix of volume keys: <c>docker.volume.{name}</c> = <c>/path/in/container</c> (append <c>:ro</c> for read-only)
    /// mounts the deployment's named volume <c>{name}</c> of this component, created on first use and removed with the deployment.
    /// </summary>
    public const string VolumePrefix = DockerPrefix + "volume.";

    /// <summary>The audit action of a relaxation.</summary>
    public const string RelaxationAuditAction = "docklock.relaxation";

    /// <summary>The address published ports are bound to unless the host sets another: <c>127.0.0.1</c>.</summary>
    public const string DefaultPublishAddress = "127.0.0.1";

    /// <summary>The user (<c>uid:gid</c>) a container runs as when its image names no non-root user, unless the host sets another: <c>65534:65534</c> (nobody).</summary>
    public const string DefaultNonRootUser = "65534:65534";

    /// <summary>The PIDs limit per container unless the host sets another (CIS Docker 5.29): 256.</summary>
    public const int DefaultPidsLimit = 256;

    /// <summary>The restart policy unless the host sets another: <c>no</c> (the orchestrator replaces failed instances itself).</summary>
    public const string DefaultRestartPolicy = "no";
}
