namespace Bpi.Orchestration.Security.Checks;

/// <summary>Where the facts of a <see cref="ContainerProfile"/> come from.</summary>
public enum ProfileSource
{
    /// <summary>The effective settings of a component spec: the DockLock defaults with the component's explicit relaxations.</summary>
    Spec = 0,

    /// <summary>A running container, read with <c>docker inspect</c> (authoritative: it is what actually runs).</summary>
    Runtime,
}

/// <summary>
/// The security-relevant settings of one container, as the checks read them. Built from a spec by
/// <see cref="ContainerProfiles.FromSpec"/> or from <c>docker inspect</c> output by
/// the Docker inspect parser; a host with another runtime can build its own. A <see langword="null"/>
/// property means "unknown": the checks that need it are <see cref="CheckOutcome.NotApplicable"/>, never passed.
/// </summary>
public sealed record ContainerProfile
{
    /// <summary>The component (or, for a running container without a component label, the container name).</summary>
    public required string ComponentId { get; init; }

    /// <summary>Where the facts come from.</summary>
    public ProfileSource Source { get; init; } = ProfileSource.Spec;

    /// <summary>The running container's id, for <see cref="ProfileSource.Runtime"/> profiles.</summary>
    public string? ContainerId { get; init; }

    /// <summary>Whether this is a container at all; a local process has no container settings and container checks do not apply.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool IsContainer { get; init; } = true;

    /// <summary>The image reference as given (for example <c>registry.example.com/app:1.2@sha256:…</c>).</summary>
    public string? Image { get; init; }

    /// <summary>The user the process runs as (<c>uid[:gid]</c> or a name); empty means the image's default, which is root unless the image says otherwise.</summary>
    public string? User { get; init; }

    /// <summary>Why the user is not known to be non-root, when the spec leaves it to the image (a relaxation reason).</summary>
    public string? UserNote { get; init; }

    /// <summary>Whether the container is privileged.</summary>
    public bool? Privileged { get; init; }

    /// <summary>Capabilities added on top of the base set (upper case, without <c>CAP_</c>).</summary>
    public IReadOnlyList<string>? AddedCapabilities { get; init; }

    /// <summary>Whether every capability is dropped before <see cref="AddedCapabilities"/> are added back.</summary>
    public bool? DropsAllCapabilities { get; init; }

    /// <summary>Whether <c>no-new-privileges</c> is set.</summary>
    public bool? NoNewPrivileges { get; init; }

    /// <summary>Whether the root filesystem is read-only.</summary>
    public bool? ReadOnlyRootFilesystem { get; init; }

    /// <summary>The memory limit in bytes; 0 means unlimited.</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>The CPU limit in cores; 0 means unlimited.</summary>
    public double? CpuLimitCores { get; init; }

    /// <summary>The PIDs limit; 0 or negative means unlimited.</summary>
    public long? PidsLimit { get; init; }

    /// <summary>The network mode (<c>host</c> shares the host's network namespace).</summary>
    public string? NetworkMode { get; init; }

    /// <summary>The PID namespace mode (<c>host</c> shares the host's).</summary>
    public string? PidMode { get; init; }

    /// <summary>The IPC namespace mode (<c>host</c> shares the host's).</summary>
    public string? IpcMode { get; init; }

    /// <summary>The UTS namespace mode (<c>host</c> shares the host's).</summary>
    public string? UtsMode { get; init; }

    /// <summary>The user namespace mode (<c>host</c> shares the host's).</summary>
    public string? UsernsMode { get; init; }

    /// <summary>The mounts.</summary>
    public IReadOnlyList<ContainerMount>? Mounts { get; init; }

    /// <summary>Host devices mapped into the container.</summary>
    public IReadOnlyList<string>? Devices { get; init; }

    /// <summary>The seccomp profile: <c>default</c>, <c>unconfined</c> or a profile name.</summary>
    public string? SeccompProfile { get; init; }

    /// <summary>The AppArmor profile: <c>default</c> (or <c>docker-default</c>), <c>unconfined</c> or a profile name.</summary>
    public string? AppArmorProfile { get; init; }

    /// <summary>Ports published on the host.</summary>
    public IReadOnlyList<PublishedPort>? PublishedPorts { get; init; }

    /// <summary>The ports the container listens on (published or not).</summary>
    public IReadOnlyList<int>? ContainerPorts { get; init; }

    /// <summary>Names of plain environment variables (never their values).</summary>
    public IReadOnlyList<string>? PlainEnvironmentNames { get; init; }

    /// <summary>Whether a health check is configured (in the spec, or as the image's HEALTHCHECK).</summary>
    public bool? HasHealthCheck { get; init; }

    /// <summary>The restart policy: <c>no</c>, <c>on-failure</c>, <c>on-failure:N</c>, <c>unless-stopped</c> or <c>always</c>.</summary>
    public string? RestartPolicy { get; init; }

    /// <summary>
    /// The DockLock defaults this container relaxes, with the reason recorded for each (setting key such as
    /// <c>docklock.noNewPrivileges</c> → reason), when the runtime keeps them with the workload (the Kubernetes runtime
    /// annotates its pods); a failed check on a relaxed setting quotes the reason. <see langword="null"/> when unknown.
    /// </summary>
    public IReadOnlyDictionary<string, string>? RelaxationReasons { get; init; }

    /// <summary>Whether the component serves HTTP on an exposed port (a port named <c>http…</c>, or an HTTP health check).</summary>
    public bool? ServesHttp { get; init; }
}

/// <summary>A mount of a container.</summary>
/// <param name="Type"><c>bind</c>, <c>volume</c> or <c>tmpfs</c>.</param>
/// <param name="Source">The host path (bind) or volume name.</param>
/// <param name="Target">The path inside the container.</param>
/// <param name="ReadOnly">Whether the mount is read-only.</param>
/// <param name="Propagation">The bind propagation (<c>rprivate</c>, <c>shared</c>, <c>rshared</c>, …), or empty.</param>
public sealed record ContainerMount(string Type, string Source, string Target, bool ReadOnly, string Propagation = "");

/// <summary>A container port published on the host.</summary>
/// <param name="ContainerPort">The port inside the container.</param>
/// <param name="HostIp">The host address it is bound to; empty or <c>0.0.0.0</c>/<c>::</c> means every interface.</param>
/// <param name="HostPort">The host port; 0 when the engine picks an ephemeral port.</param>
public sealed record PublishedPort(int ContainerPort, string HostIp, int HostPort);
