using Bpi.Orchestration.Hardening;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>Options of the Docker runtime: where the engine is, how calls time out and retry, and the DockLock defaults.</summary>
/// <remarks>Validated as a whole when the runtime is first resolved; every problem is listed.</remarks>
public sealed class DockerRuntimeOptions
{
    /// <summary>
    /// The engine's endpoint: <c>unix:///path/to/docker.sock</c> or <c>tcp://host:port</c>. When <see langword="null"/>,
    /// the <c>DOCKER_HOST</c> environment variable is used, and without it <c>unix:///var/run/docker.sock</c>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Host { get; set; }

    /// <summary>How long one engine call may take. Streams (logs, events) and waits have no timeout; a stop gets its stop timeout on top.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a call that failed transiently (HTTP 5xx, engine unreachable) is retried, with exponential backoff; 0 disables retries.</summary>
    /// <value>The default value is 3.</value>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>The delay before the first retry; later retries back off exponentially, with jitter.</summary>
    /// <value>The default value is 200 milliseconds.</value>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a container gets to stop after SIGTERM before it is killed, when it is removed.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a newly started container is watched for an early exit. A container that exits within this window fails
    /// <c>EnsureReplicasAsync</c> with a <see cref="ContainerStartupException"/> carrying its exit code and last log lines;
    /// a later exit shows as a failed instance. Zero checks once, right after the start.
    /// </summary>
    /// <value>The default value is 500 milliseconds.</value>
    public TimeSpan StartupCheckWindow { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How many of a failed container's last log lines a <see cref="ContainerStartupException"/> carries.</summary>
    /// <value>The default value is 20.</value>
    public int StartupFailureLogLines { get; set; } = 20;

    /// <summary>The host address published ports are bound to; the engine picks the host port, which is reported as the instance's endpoint.</summary>
    /// <value>The default value is <c>127.0.0.1</c>.</value>
    public string PublishAddress { get; set; } = DockLockSettings.DefaultPublishAddress;

    /// <summary>The DockLock PIDs limit per container (CIS Docker 5.29); a component may set another with <see cref="DockLockSettings.PidsLimit"/>.</summary>
    /// <value>The default value is 256.</value>
    public int DefaultPidsLimit { get; set; } = DockLockSettings.DefaultPidsLimit;

    /// <summary>The user (<c>uid:gid</c>) a container runs as when its image does not name a non-root user (CIS Docker 4.1).</summary>
    /// <value>The default value is <c>65534:65534</c> (nobody).</value>
    public string NonRootUser { get; set; } = DockLockSettings.DefaultNonRootUser;

    /// <summary>The size of the tmpfs mounted at <c>/tmp</c> when the root filesystem is read-only, in MB.</summary>
    /// <value>The default value is 64.</value>
    public int TmpfsSizeMb { get; set; } = 64;

    /// <summary>The restart policy of containers (<c>no</c>, <c>on-failure[:N]</c>, <c>unless-stopped</c>, <c>always</c>); a component may set another with <see cref="DockLockSettings.RestartPolicy"/>.</summary>
    /// <value>The default value is <c>no</c>: the orchestrator replaces failed instances itself.</value>
    public string DefaultRestartPolicy { get; set; } = DockLockSettings.DefaultRestartPolicy;

    /// <summary>How long creating a component waits for the components it depends on to have a running (and, with a HEALTHCHECK, healthy) container.</summary>
    /// <value>The default value is 60 seconds.</value>
    public TimeSpan DependencyTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many containers of one revision are created, started or removed at the same time.</summary>
    /// <value>The default value is 8.</value>
    public int MaxParallelOperations { get; set; } = 8;

    /// <summary>Whether containers run the engine's init process as PID 1, which forwards signals (so a stop is graceful) and reaps zombies.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool UseInit { get; set; } = true;

    /// <summary>
    /// The Docker CLI config whose <c>auths</c> give registry credentials for pulls (<c>auth</c> as base64
    /// <c>user:password</c>, or <c>username</c>/<c>password</c>). When <see langword="null"/>, <c>$DOCKER_CONFIG/config.json</c>,
    /// else <c>~/.docker/config.json</c>; a missing file means no credentials. Credential helpers are not run.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? DockerConfigPath { get; set; }

    /// <summary>
    /// Registry credentials by registry host (<c>registry.example.com:5000</c>; <c>docker.io</c> for Docker Hub). They take
    /// precedence over the Docker config's.
    /// </summary>
    public IDictionary<string, RegistryCredential> RegistryCredentials { get; } = new Dictionary<string, RegistryCredential>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Called with each progress message of an image pull (layer downloads, extraction), on the pulling thread; keep it quick.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Action<ImagePullProgress>? OnPullProgress { get; set; }

    /// <summary>The DockLock defaults these options set, for <see cref="DockLockEffectiveSettings.Resolve"/>.</summary>
    internal DockLockDefaults ToDockLockDefaults() => new()
    {
        PublishAddress = PublishAddress,
        NonRootUser = NonRootUser,
        DefaultPidsLimit = DefaultPidsLimit,
        DefaultRestartPolicy = DefaultRestartPolicy,
    };
}
