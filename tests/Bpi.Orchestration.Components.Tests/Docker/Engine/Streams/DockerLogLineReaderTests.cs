using Bpi.Orchestration.Components.Docker.Engine.Models;
using Bpi.Orchestration.Components.Docker.Engine.Streams;
using Bpi.Orchestration.Components.Tests.Infrastructure;

namespace Bpi.Orchestration.Components.Tests.Docker.Engine.Streams;

public sealed class DockerLogLineReaderTests
{
    [Fact]
    public async Task Lines_split_across_frames_are_joined_and_stdout_and_stderr_kept_apart()
    {
        var encoded = DockerStreamDemultiplexerTests.Encode(
        [
            (DockerStreamKind.Stdout, "first li"u8.ToArray()),
            (DockerStreamKind.Stderr, "error one\nerr"u8.ToArray()),
            (DockerStreamKind.Stdout, "ne\r\nsecond line\n"u8.ToArray()),
            (DockerStreamKind.Stderr, "or two\n"u8.ToArray()),
            (DockerStreamKind.Stdout, "no newline at the end"u8.ToArray()),
        ]);

        var lines = await ReadAsync(ChunkedStream.SplitAt(encoded, 5, 17, 30), timestamps: false);

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
        var encoded = DockerStreamDemultiplexerTests.Encode([(DockerStreamKind.Stdout, "2026-11-22T07:57:26.167848071Z started on :8080\n"u8.ToArray())]);

        var line = Assert.Single(await ReadAsync(new MemoryStream(encoded), timestamps: true));

        Assert.Equal("started on :8080", line.Text);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 7, 57, 26, TimeSpan.Zero).AddTicks(1678480), line.Timestamp);
    }

    [Fact]
    public async Task Json_messages_split_across_reads_are_each_read_once()
    {
        var json = "{\"status\":\"a\"}\r\n{\"status\":\"b\",\"error\":\"\"}\n\n{\"status\":\"c\"}"u8.ToArray();
        var messages = new List<string?>();

        await foreach (var message in DockerJsonStreamReader.ReadAsync(ChunkedStream.SplitAt(json, 1, 7, 16, 20, 40), DockerJsonContext.Default.JsonProgressMessage))
        {
            messages.Add(message.Status);
        }

        Assert.Equal(["a", "b", "c"], messages);
    }

    private static async Task<List<DockerLogLine>> ReadAsync(Stream stream, bool timestamps)
    {
        var lines = new List<DockerLogLine>();
        await foreach (var line in DockerLogLineReader.ReadLinesAsync(DockerStreamDemultiplexer.ReadFramesAsync(stream, raw: false), timestamps))
        {
            lines.Add(line);
        }

        return lines;
    }
}
