using System.Text.Json.Serialization;

namespace Bpi.Orchestration.Components.Docker.Engine.Models;

/// <summary>The body of <c>POST /containers/create</c>: the container config with its host and networking config.</summary>
internal sealed record ContainerCreateRequest
{
    public required string Image { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public IReadOnlyList<string>? Entrypoint { get; init; }

    /// <summary>KEY=value pairs. May hold secret values: never log a create request.</summary>
    public IReadOnlyList<string>? Env { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    public string? User { get; init; }

    public string? WorkingDir { get; init; }

    public string? Hostname { get; init; }

    public bool Tty { get; init; }

    public IReadOnlyDictionary<string, EmptyObject>? ExposedPorts { get; init; }

    public HealthConfig? Healthcheck { get; init; }

    public int? StopTimeout { get; init; }

    public HostConfig? HostConfig { get; init; }

    public NetworkingConfig? NetworkingConfig { get; init; }
}

/// <summary>Serializes as <c>{}</c> (the engine's way of writing a set).</summary>
internal sealed record EmptyObject
{
    public static EmptyObject Instance { get; } = new();
}

internal sealed record HostConfig
{
    public long NanoCpus { get; init; }

    public long Memory { get; init; }

    public long MemorySwap { get; init; }

    public long? PidsLimit { get; init; }

    public bool ReadonlyRootfs { get; init; }

    public IReadOnlyList<string>? CapAdd { get; init; }

    public IReadOnlyList<string>? CapDrop { get; init; }

    public IReadOnlyList<string>? SecurityOpt { get; init; }

    public IReadOnlyDictionary<string, string>? Tmpfs { get; init; }

    public IReadOnlyDictionary<string, IReadOnlyList<PortBinding>?>? PortBindings { get; init; }

    public RestartPolicy? RestartPolicy { get; init; }

    public string? NetworkMode { get; init; }

    public IReadOnlyList<MountPoint>? Mounts { get; init; }

    public bool Privileged { get; init; }

    public bool? Init { get; init; }
}

internal sealed record PortBinding
{
    public string? HostIp { get; init; }

    public string? HostPort { get; init; }
}

internal sealed record RestartPolicy
{
    public string Name { get; init; } = "no";

    public int MaximumRetryCount { get; init; }
}

internal sealed record MountPoint
{
    public string Type { get; init; } = "volume";

    public string? Source { get; init; }

    public string Target { get; init; } = "";

    public bool ReadOnly { get; init; }
}

internal sealed record NetworkingConfig
{
    public IReadOnlyDictionary<string, EndpointSettings>? EndpointsConfig { get; init; }
}

internal sealed record EndpointSettings
{
    public IReadOnlyList<string>? Aliases { get; init; }

    public string? NetworkID { get; init; }

    public string? IPAddress { get; init; }
}

internal sealed record ContainerCreateResponse
{
    public string Id { get; init; } = "";

    public IReadOnlyList<string>? Warnings { get; init; }
}

internal sealed record ContainerSummary
{
    public string Id { get; init; } = "";

    public IReadOnlyList<string>? Names { get; init; }

    public string? Image { get; init; }

    public string? State { get; init; }

    public string? Status { get; init; }

    public long Created { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

internal sealed record ContainerInspectResponse
{
    public string Id { get; init; } = "";

    public string? Name { get; init; }

    public string? Created { get; init; }

    public string? Image { get; init; }

    public int RestartCount { get; init; }

    public ContainerState? State { get; init; }

    public ContainerConfig? Config { get; init; }

    public HostConfig? HostConfig { get; init; }

    public NetworkSettings? NetworkSettings { get; init; }
}

internal sealed record ContainerState
{
    public string? Status { get; init; }

    public bool Running { get; init; }

    public bool Paused { get; init; }

    public bool Restarting { get; init; }

    public bool OOMKilled { get; init; }

    public bool Dead { get; init; }

    public int Pid { get; init; }

    public int ExitCode { get; init; }

    public string? Error { get; init; }

    public string? StartedAt { get; init; }

    public string? FinishedAt { get; init; }

    public ContainerHealth? Health { get; init; }
}

internal sealed record ContainerHealth
{
    public string? Status { get; init; }

    public int FailingStreak { get; init; }

    public IReadOnlyList<HealthLogEntry>? Log { get; init; }
}

internal sealed record HealthLogEntry
{
    public int ExitCode { get; init; }

    public string? Output { get; init; }
}

internal sealed record ContainerConfig
{
    public bool Tty { get; init; }

    public string? User { get; init; }

    public string? Image { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    public HealthConfig? Healthcheck { get; init; }
}

internal sealed record NetworkSettings
{
    public IReadOnlyDictionary<string, IReadOnlyList<PortBinding>?>? Ports { get; init; }

    public IReadOnlyDictionary<string, EndpointSettings>? Networks { get; init; }
}

internal sealed record ContainerWaitResponse
{
    public int StatusCode { get; init; }

    public ContainerWaitError? Error { get; init; }
}

internal sealed record ContainerWaitError
{
    public string? Message { get; init; }
}

/// <summary>One sample of <c>GET /containers/{id}/stats?stream=false</c> (the fields the SDK reads).</summary>
internal sealed record ContainerStatsResponse
{
    [JsonPropertyName("read")]
    public string? Read { get; init; }

    [JsonPropertyName("cpu_stats")]
    public CpuStats? CpuStats { get; init; }

    [JsonPropertyName("precpu_stats")]
    public CpuStats? PreCpuStats { get; init; }

    [JsonPropertyName("memory_stats")]
    public MemoryStats? MemoryStats { get; init; }

    [JsonPropertyName("pids_stats")]
    public PidsStats? PidsStats { get; init; }
}

internal sealed record CpuStats
{
    [JsonPropertyName("cpu_usage")]
    public CpuUsage? CpuUsage { get; init; }

    [JsonPropertyName("system_cpu_usage")]
    public ulong SystemCpuUsage { get; init; }

    [JsonPropertyName("online_cpus")]
    public int OnlineCpus { get; init; }
}

internal sealed record CpuUsage
{
    [JsonPropertyName("total_usage")]
    public ulong TotalUsage { get; init; }
}

internal sealed record MemoryStats
{
    [JsonPropertyName("usage")]
    public ulong Usage { get; init; }

    [JsonPropertyName("limit")]
    public ulong Limit { get; init; }
}

internal sealed record PidsStats
{
    [JsonPropertyName("current")]
    public ulong Current { get; init; }

    [JsonPropertyName("limit")]
    public ulong Limit { get; init; }
}
