namespace Bpi.Orchestration.Components.Docker.Engine.Models;

internal sealed record DockerErrorResponse
{
    public string? Message { get; init; }
}

internal sealed record IdResponse
{
    public string Id { get; init; } = "";
}

internal sealed record VersionResponse
{
    public string? Version { get; init; }

    public string? ApiVersion { get; init; }

    public string? MinAPIVersion { get; init; }

    public string? Os { get; init; }

    public string? Arch { get; init; }

    public string? KernelVersion { get; init; }
}

internal sealed record InfoResponse
{
    public string? ID { get; init; }

    public string? Name { get; init; }

    public string? ServerVersion { get; init; }

    public int Containers { get; init; }

    public int ContainersRunning { get; init; }

    public int Images { get; init; }

    public int NCPU { get; init; }

    public long MemTotal { get; init; }

    public string? OperatingSystem { get; init; }

    public string? CgroupVersion { get; init; }

    public IReadOnlyList<string>? SecurityOptions { get; init; }

    public SwarmInfo? Swarm { get; init; }
}

internal sealed record SwarmInfo
{
    public string? LocalNodeState { get; init; }

    public string? NodeID { get; init; }
}

/// <summary>One message of the events stream.</summary>
internal sealed record EventMessage
{
    public string? Type { get; init; }

    public string? Action { get; init; }

    public EventActor? Actor { get; init; }

    public string? Scope { get; init; }

    public long Time { get; init; }

    public long TimeNano { get; init; }
}

internal sealed record EventActor
{
    public string? ID { get; init; }

    public IReadOnlyDictionary<string, string>? Attributes { get; init; }
}

/// <summary>One message of a JSON progress stream (image import and load).</summary>
internal sealed record JsonProgressMessage
{
    public string? Status { get; init; }

    public string? Stream { get; init; }

    public string? Error { get; init; }

    public JsonProgressError? ErrorDetail { get; init; }
}

internal sealed record JsonProgressError
{
    public string? Message { get; init; }
}
