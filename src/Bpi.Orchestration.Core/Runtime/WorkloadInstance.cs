namespace Bpi.Orchestration.Runtime;

/// <summary>One running (or failed) instance of a component revision, as a runtime reports it.</summary>
public sealed record WorkloadInstance
{
    /// <summary>The runtime's id for the instance (container id, process key, …).</summary>
    public required string InstanceId { get; init; }

    /// <summary>The deployment id.</summary>
    public required string DeploymentId { get; init; }

    /// <summary>The component id.</summary>
    public required string ComponentId { get; init; }

    /// <summary>The revision number.</summary>
    public required int Revision { get; init; }

    /// <summary>The id of the orchestrator that owns the instance (its <see cref="WorkloadLabels.Owner"/> label), when the runtime records it.</summary>
    public string? OwnerId { get; init; }

    /// <summary>The instance's lifecycle state.</summary>
    public required InstanceState State { get; init; }

    /// <summary>The health the runtime itself observes (for example Docker's HEALTHCHECK); <see cref="InstanceHealth.Unknown"/> when it has none.</summary>
    public InstanceHealth Health { get; init; } = InstanceHealth.Unknown;

    /// <summary>Where the instance can be reached, one entry per named port; empty when it exposes none.</summary>
    public IReadOnlyList<ServiceEndpoint> Endpoints { get; init; } = [];

    /// <summary>When the instance started, if it has.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>The exit code, once the instance has exited or failed.</summary>
    public int? ExitCode { get; init; }

    /// <summary>Why the instance is in its state, when the runtime knows (for example the engine's error message).</summary>
    public string? Message { get; init; }

    /// <summary>The first endpoint, or <see langword="null"/> when the instance exposes none.</summary>
    public ServiceEndpoint? Endpoint => Endpoints.Count > 0 ? Endpoints[0] : null;

    /// <summary>Whether the instance has ended (exited or failed) and will not become ready by itself.</summary>
    public bool IsTerminated => State is InstanceState.Exited or InstanceState.Failed;
}

/// <summary>The lifecycle state of a workload instance.</summary>
public enum InstanceState
{
    /// <summary>Accepted but not yet started.</summary>
    Pending = 0,

    /// <summary>Starting up.</summary>
    Starting,

    /// <summary>Running.</summary>
    Running,

    /// <summary>Being stopped.</summary>
    Stopping,

    /// <summary>Exited (on its own or after a stop).</summary>
    Exited,

    /// <summary>Failed to start, or crashed.</summary>
    Failed,
}

/// <summary>The health a runtime observes by itself.</summary>
public enum InstanceHealth
{
    /// <summary>The runtime has no health information.</summary>
    Unknown = 0,

    /// <summary>Healthy.</summary>
    Healthy,

    /// <summary>Unhealthy.</summary>
    Unhealthy,
}

/// <summary>A network endpoint: a host and port, with the name of the port it serves.</summary>
/// <param name="Host">The host name or address, for example <c>127.0.0.1</c>.</param>
/// <param name="Port">The port.</param>
/// <param name="Name">The name of the component port this endpoint serves.</param>
public sealed record ServiceEndpoint(string Host, int Port, string Name = "http")
{
    /// <inheritdoc />
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
