namespace Bpi.Orchestration;

/// <summary>How an instance's health is checked, with the thresholds of Kubernetes probes.</summary>
public sealed record HealthCheckSpec
{
    /// <summary>The kind of probe.</summary>
    /// <value>The default value is <see cref="HealthCheckKind.Http"/>.</value>
    public HealthCheckKind Kind { get; init; } = HealthCheckKind.Http;

    /// <summary>The HTTP path (for <see cref="HealthCheckKind.Http"/>).</summary>
    /// <value>The default value is <c>/health</c>.</value>
    public string Path { get; init; } = "/health";

    /// <summary>The port to probe; <see langword="null"/> uses the component's first port.</summary>
    public int? Port { get; init; }

    /// <summary>The command to run inside the workload (for <see cref="HealthCheckKind.Exec"/>); exit code 0 is healthy.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    /// <summary>The gRPC service name to check (for <see cref="HealthCheckKind.Grpc"/>); empty checks the server.</summary>
    public string GrpcService { get; init; } = "";

    /// <summary>The lowest HTTP status counted as healthy.</summary>
    /// <value>The default value is 200.</value>
    public int ExpectedStatusMin { get; init; } = 200;

    /// <summary>The highest HTTP status counted as healthy.</summary>
    /// <value>The default value is 399.</value>
    public int ExpectedStatusMax { get; init; } = 399;

    /// <summary>Extra HTTP request headers.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>How long after an instance starts before the first probe.</summary>
    /// <value>The default value is zero.</value>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.Zero;

    /// <summary>How often to probe.</summary>
    /// <value>The default value is 10 seconds (as in Kubernetes).</value>
    public TimeSpan Period { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one probe may take.</summary>
    /// <value>The default value is 1 second (as in Kubernetes).</value>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Consecutive failures after which an instance counts as unhealthy.</summary>
    /// <value>The default value is 3.</value>
    public int FailureThreshold { get; init; } = 3;

    /// <summary>Consecutive successes after which an instance counts as healthy.</summary>
    /// <value>The default value is 1.</value>
    public int SuccessThreshold { get; init; } = 1;
}

/// <summary>The kind of health probe.</summary>
public enum HealthCheckKind
{
    /// <summary>An HTTP GET whose status must fall in the expected range.</summary>
    Http = 0,

    /// <summary>A TCP connection that must be accepted.</summary>
    Tcp,

    /// <summary>A command run inside the workload whose exit code must be 0.</summary>
    Exec,

    /// <summary>The gRPC health protocol (grpc.health.v1 Check) answering SERVING.</summary>
    Grpc,
}
