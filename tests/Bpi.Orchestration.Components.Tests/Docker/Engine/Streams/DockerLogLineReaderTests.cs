using Bpi.Orchestration.Components.Docker.Engine.Streams;

namespace Bpi.Orchestration.Components.Tests.Docker.Engine.Streams;

public sealed class DockerLogLineReaderTests
{
    [Fact]
    public async Task Lines_split_across_frames_are_joined_and_stdout_and_stderr_kept_apart()
    {
        var frames = Frames(
        [
            (DockerStreamKind.Stdout, "first li"u8.ToArray()),
            (DockerStreamKind.Stderr, "error one\nerr"u8.ToArray()),
            (DockerStreamKind.Stdout, "ne\r\nsecond line\n"u8.ToArray()),
            (DockerStreamKind.Stderr, "or two\n"u8.ToArray()),
            (DockerStreamKind.Stdout, "no newline at the end"u8.ToArray()),
        ]);

        var lines = await ReadAsync(frames, timestamps: false);

        Assert.Equal(
            [
                (DockerStreamKind.Stderr, "error one"),
                (DockerStreamKind.Stdout, "first line"),
                (DockerStreamKind.Stdout, "second line"),
                (DockerStreamKind.Stderr, "error two"),
                (DockerStreamKind.Stdout, "no newline at the end"),
            ],
            lines.Select(l => (l.Stream, l.Text)).ToArray());
    }

    [Fact]
    public async Task Engine_timestamps_with_nanoseconds_are_parsed_and_stripped()
    {
        var frames = Frames([(DockerStreamKind.Stdout, "2026-11-22T07:57:26.167848071Z started on :8080\n"u8.ToArray())]);

        var line = Assert.Single(await ReadAsync(frames, timestamps: true));

        Assert.Equal("started on :8080", line.Text);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 7, 57, 26, TimeSpan.Zero).AddTicks(1678480), line.Timestamp);
    }

    /// <summary>Frames as the library's demultiplexed stream hands them over (a line may span frames).</summary>
    private static async IAsyncEnumerable<DockerStreamFrame> Frames((DockerStreamKind Stream, byte[] Payload)[] frames)
    {
        foreach (var (stream, payload) in frames)
        {
            await Task.Yield();
            yield return new DockerStreamFrame(stream, payload);
        }
    }

    private static async Task<List<DockerLogLine>> ReadAsync(IAsyncEnumerable<DockerStreamFrame> frames, bool timestamps)
    {
        var lines = new List<DockerLogLine>();
        await foreach (var line in DockerLogLineReader.ReadLinesAsync(frames, timestamps))
        {
            lines.Add(line);
        }

        return lines;
    }
}
