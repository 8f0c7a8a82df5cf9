namespace Bpi.Orchestration.Components.Docker.Engine.Models;

internal sealed record ExecCreateRequest
{
    public bool AttachStdout { get; init; } = true;

    public bool AttachStderr { get; init; } = true;

    public bool Tty { get; init; }

    public required IReadOnlyList<string> Cmd { get; init; }

    public IReadOnlyList<string>? Env { get; init; }

    public string? User { get; init; }

    public string? WorkingDir { get; init; }
}

internal sealed record ExecStartRequest
{
    public bool Detach { get; init; }

    public bool Tty { get; init; }
}

internal sealed record ExecInspectResponse
{
    public string? ID { get; init; }

    public bool Running { get; init; }

    public int? ExitCode { get; init; }

    public int Pid { get; init; }
}
