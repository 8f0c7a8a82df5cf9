namespace Bpi.Orchestration.Components.Docker.Engine.Models;

internal sealed record NetworkCreateRequest
{
    public required string Name { get; init; }

    public string Driver { get; init; } = "bridge";

    /// <summary>Refuse a second network of the same name (API 1.41; always on from 1.44, where the field is ignored).</summary>
    public bool CheckDuplicate { get; init; } = true;

    public bool Internal { get; init; }

    public bool Attachable { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

internal sealed record NetworkCreateResponse
{
    public string Id { get; init; } = "";

    public string? Warning { get; init; }
}

internal sealed record NetworkResource
{
    public string Id { get; init; } = "";

    public string? Name { get; init; }

    public string? Driver { get; init; }

    public bool Internal { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    public IReadOnlyDictionary<string, NetworkContainer>? Containers { get; init; }
}

internal sealed record NetworkContainer
{
    public string? Name { get; init; }

    public string? IPv4Address { get; init; }
}

internal sealed record NetworkConnectRequest
{
    public required string Container { get; init; }

    public EndpointSettings? EndpointConfig { get; init; }
}

internal sealed record VolumeCreateRequest
{
    public required string Name { get; init; }

    public string Driver { get; init; } = "local";

    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

internal sealed record VolumeResource
{
    public string Name { get; init; } = "";

    public string? Driver { get; init; }

    public string? Mountpoint { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

internal sealed record VolumeListResponse
{
    public IReadOnlyList<VolumeResource>? Volumes { get; init; }

    public IReadOnlyList<string>? Warnings { get; init; }
}
