namespace Bpi.Orchestration;

/// <summary>One component (service) of a deployment: what to run, how many, with what resources and health check.</summary>
public sealed record ComponentSpec
{
    /// <summary>The component's id, unique within the deployment (a DNS label).</summary>
    public required string Id { get; init; }

    /// <summary>
    /// This component's deployment type in a <see cref="DeploymentType.HybridInfrastructure"/> deployment (where every
    /// component names one): the component manager of that type serves and checks it. <see langword="null"/> takes the
    /// deployment's <see cref="DeploymentSpec.Type"/> (see <see cref="DeploymentSpec.TypeOf"/>); a deployment of another
    /// type refuses a component type that differs from its own.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public DeploymentType? Type { get; init; }

    /// <summary>The container image to run (for container runtimes). Either this or <see cref="Command"/> is required.</summary>
    public string? Image { get; init; }

    /// <summary>When a container runtime pulls <see cref="Image"/> from its registry.</summary>
    /// <value>The default value is <see cref="ImagePullPolicy.IfNotPresent"/>.</value>
    public ImagePullPolicy PullPolicy { get; init; } = ImagePullPolicy.IfNotPresent;

    /// <summary>The command to run (for the local-process runtime, or to override an image's entry point).</summary>
    public CommandSpec? Command { get; init; }

    /// <summary>How many instances to run.</summary>
    /// <value>The default value is 1.</value>
    public int Replicas { get; init; } = 1;

    /// <summary>CPU and memory per instance.</summary>
    public ComponentResources Resources { get; init; } = new();

    /// <summary>The ports the component listens on.</summary>
    public IReadOnlyList<PortSpec> Ports { get; init; } = [];

    /// <summary>Plain environment variables. Put secret values in <see cref="Secrets"/> instead.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Environment variables whose values are secret: handed to the runtime only when an instance is created and redacted everywhere else.</summary>
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>();

    /// <summary>How the orchestrator decides an instance is ready (readiness: it gets traffic while it passes); <see langword="null"/> means "running is ready".</summary>
    public HealthCheckSpec? HealthCheck { get; init; }

    /// <summary>
    /// How the orchestrator decides an instance is alive; <see langword="null"/> means "running is alive". Distinct from
    /// <see cref="HealthCheck"/> (readiness): an instance failing its liveness check is replaced, one failing its readiness
    /// check is only taken out of traffic until it passes again.
    /// </summary>
    public HealthCheckSpec? LivenessCheck { get; init; }

    /// <summary>What the orchestrator does when an instance ends between rollouts (self-healing).</summary>
    /// <value>The default value is <see cref="RestartPolicySpec.Always"/>.</value>
    public RestartPolicySpec Restart { get; init; } = RestartPolicySpec.Always;

    /// <summary>
    /// Horizontal autoscaling of the serving revision between <see cref="AutoscalingSpec.MinReplicas"/> and
    /// <see cref="AutoscalingSpec.MaxReplicas"/> by CPU use; <see langword="null"/> keeps <see cref="Replicas"/> fixed.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public AutoscalingSpec? Autoscaling { get; init; }

    /// <summary>Ids of the components that must be ready before this one starts.</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];

    /// <summary>Runtime-specific settings (for example DockLock hardening overrides), by key.</summary>
    public IReadOnlyDictionary<string, string> RuntimeSettings { get; init; } = new Dictionary<string, string>();

    /// <inheritdoc />
    public override string ToString() => $"ComponentSpec {{ Id = {Id}, Image = {Image}, Command = {Command?.FileName}, Replicas = {Replicas} }}";
}

/// <summary>A command line to run.</summary>
public sealed record CommandSpec
{
    /// <summary>The program to run: a path or a name found on PATH.</summary>
    public required string FileName { get; init; }

    /// <summary>The arguments, one per element (no shell quoting).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The working directory; <see langword="null"/> lets the runtime choose one per instance.</summary>
    public string? WorkingDirectory { get; init; }
}

/// <summary>CPU and memory requested by one instance of a component.</summary>
public sealed record ComponentResources
{
    /// <summary>CPU cores per instance (fractions allowed).</summary>
    /// <value>The default value is 0.25.</value>
    public double CpuCores { get; init; } = 0.25;

    /// <summary>Memory per instance in MB.</summary>
    /// <value>The default value is 256.</value>
    public int MemoryMb { get; init; } = 256;
}

/// <summary>A port a component listens on.</summary>
public sealed record PortSpec
{
    /// <summary>A name for the port, for example <c>http</c>.</summary>
    /// <value>The default value is <c>http</c>.</value>
    public string Name { get; init; } = "http";

    /// <summary>The port inside the workload (1–65535).</summary>
    public required int ContainerPort { get; init; }

    /// <summary>The transport protocol.</summary>
    /// <value>The default value is <see cref="PortProtocol.Tcp"/>.</value>
    public PortProtocol Protocol { get; init; } = PortProtocol.Tcp;
}

/// <summary>A transport protocol.</summary>
public enum PortProtocol
{
    /// <summary>TCP.</summary>
    Tcp = 0,

    /// <summary>UDP.</summary>
    Udp,
}
