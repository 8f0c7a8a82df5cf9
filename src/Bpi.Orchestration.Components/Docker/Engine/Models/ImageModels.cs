namespace Bpi.Orchestration.Components.Docker.Engine.Models;

internal sealed record ImageInspectResponse
{
    public string Id { get; init; } = "";

    public IReadOnlyList<string>? RepoTags { get; init; }

    public string? Created { get; init; }

    public long Size { get; init; }

    public ImageConfig? Config { get; init; }
}

internal sealed record ImageConfig
{
    public string? User { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Env { get; init; }

    public string? WorkingDir { get; init; }

    public HealthConfig? Healthcheck { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

internal sealed record ImageSummary
{
    public string Id { get; init; } = "";

    public IReadOnlyList<string>? RepoTags { get; init; }

    public long Created { get; init; }

    public long Size { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>A container health check as the engine stores it (durations in nanoseconds).</summary>
internal sealed record HealthConfig
{
    public IReadOnlyList<string>? Test { get; init; }

    public long Interval { get; init; }

    public long Timeout { get; init; }

    public int Retries { get; init; }

    public long StartPeriod { get; init; }
}
