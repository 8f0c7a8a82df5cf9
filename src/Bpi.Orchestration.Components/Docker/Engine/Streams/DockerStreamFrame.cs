namespace Bpi.Orchestration.Components.Docker.Engine.Streams;

/// <summary>Which standard stream a frame of container output belongs to (the first byte of a frame header).</summary>
internal enum DockerStreamKind : byte
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}

/// <summary>One frame of container output: the stream it came from and its bytes.</summary>
internal readonly record struct DockerStreamFrame(DockerStreamKind Stream, ReadOnlyMemory<byte> Payload);

/// <summary>One line of container output.</summary>
/// <param name="Stream">Stdout or stderr (always stdout for a TTY container, whose output is not multiplexed).</param>
/// <param name="Timestamp">The engine's timestamp, when the logs were requested with timestamps.</param>
/// <param name="Text">The line without its line break.</param>
internal sealed record DockerLogLine(DockerStreamKind Stream, DateTimeOffset? Timestamp, string Text);
