using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine.Streams;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using FsCheck;
using FsCheck.Fluent;

namespace Bpi.Orchestration.Components.Tests.Docker.Engine.Streams;

public sealed class DockerStreamDemultiplexerTests
{
    private static readonly (DockerStreamKind Stream, byte[] Payload)[] SampleFrames =
    [
        (DockerStreamKind.Stdout, "hello\n"u8.ToArray()),
        (DockerStreamKind.Stderr, "oops: something failed\n"u8.ToArray()),
        (DockerStreamKind.Stdout, [0, 1, 2, 255, 254, 10]),
    ];

    [Fact]
    public async Task Frames_split_at_every_byte_boundary_across_two_reads_are_reassembled()
    {
        var encoded = Encode(SampleFrames);
        for (var boundary = 0; boundary <= encoded.Length; boundary++)
        {
            var frames = await DemuxAsync(ChunkedStream.SplitAt(encoded, boundary));
            AssertSameFrames(SampleFrames, frames, $"split at byte {boundary}");
        }
    }

    [Fact]
    public async Task Frames_delivered_one_byte_per_read_are_reassembled()
    {
        var encoded = Encode(SampleFrames);
        var stream = new ChunkedStream(encoded, Enumerable.Repeat(1, encoded.Length).ToArray());

        var frames = await DemuxAsync(stream);

        AssertSameFrames(SampleFrames, frames, "one byte per read");
        Assert.Equal(encoded.Length, stream.Reads);
    }

    [Fact]
    public void Any_frames_split_into_any_chunks_come_out_as_they_went_in()
    {
        var frameGen =
            from stream in Gen.Elements(DockerStreamKind.Stdout, DockerStreamKind.Stderr, DockerStreamKind.Stdin)
            from length in Gen.Choose(0, 300)
            from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), length)
            select (Stream: stream, Payload: bytes);
        var caseGen =
            from frames in Gen.ListOf(frameGen)
            from chunks in Gen.ListOf(Gen.Choose(1, 40))
            select (Frames: frames.ToArray(), Chunks: chunks.ToArray());

        Prop.ForAll(caseGen.ToArbitrary(), testCase =>
        {
            var encoded = Encode(testCase.Frames);
            var decoded = Task.Run(() => DemuxAsync(new ChunkedStream(encoded, testCase.Chunks))).GetAwaiter().GetResult();
            return decoded.Count == testCase.Frames.Length
                && decoded.Zip(testCase.Frames).All(pair => pair.First.Stream == pair.Second.Stream && pair.First.Payload.Span.SequenceEqual(pair.Second.Payload));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public async Task A_frame_larger_than_the_limit_is_rejected()
    {
        var encoded = DockerStreamDemultiplexer.EncodeFrame(DockerStreamKind.Stdout, new byte[1025]);

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => DemuxAsync(new MemoryStream(encoded), maxFrameSize: 1024));

        Assert.Contains("1025 bytes exceeds the limit of 1024", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversized_frame_is_rejected_from_its_header_before_its_payload_arrives()
    {
        // Only the header of a 4 GiB frame: the demultiplexer must not wait for (or buffer) the payload.
        byte[] header = [1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => DemuxAsync(new MemoryStream(header)));

        Assert.Contains("exceeds the limit", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData((int)'h')]
    public async Task A_frame_of_an_unknown_stream_type_is_rejected(int type)
    {
        var encoded = DockerStreamDemultiplexer.EncodeFrame(DockerStreamKind.Stdout, "x"u8);
        encoded[0] = (byte)type;

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => DemuxAsync(new MemoryStream(encoded)));

        Assert.Contains($"unknown stream type {type}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_frame_header_with_non_zero_padding_is_rejected()
    {
        var encoded = DockerStreamDemultiplexer.EncodeFrame(DockerStreamKind.Stderr, "x"u8);
        encoded[2] = 1;

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => DemuxAsync(new MemoryStream(encoded)));

        Assert.Contains("non-zero padding", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(12)]
    public async Task A_stream_that_ends_inside_a_frame_is_rejected(int cut)
    {
        var encoded = DockerStreamDemultiplexer.EncodeFrame(DockerStreamKind.Stdout, "hello world"u8)[..cut];

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => DemuxAsync(new MemoryStream(encoded)));

        Assert.Contains("ended inside a frame", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_daemon_error_frame_surfaces_as_an_engine_error_with_its_text()
    {
        var encoded = Encode([(DockerStreamKind.Stdout, "partial\n"u8.ToArray())])
            .Concat(new byte[] { 3, 0, 0, 0, 0, 0, 0, 4 }).Concat("boom"u8.ToArray()).ToArray();

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => DemuxAsync(new MemoryStream(encoded)));

        Assert.Equal("boom", error.EngineMessage);
    }

    [Fact]
    public async Task A_tty_stream_is_passed_through_raw_as_stdout()
    {
        // Bytes that would be an invalid frame header if they were parsed as one.
        var raw = "hello from a tty\r\n"u8.ToArray();

        var frames = await DemuxAsync(ChunkedStream.SplitAt(raw, 3, 9), raw: true);

        Assert.All(frames, f => Assert.Equal(DockerStreamKind.Stdout, f.Stream));
        Assert.Equal(raw, frames.SelectMany(f => f.Payload.ToArray()).ToArray());
    }

    [Fact]
    public async Task An_empty_stream_has_no_frames()
    {
        Assert.Empty(await DemuxAsync(new MemoryStream()));
    }

    internal static byte[] Encode(IEnumerable<(DockerStreamKind Stream, byte[] Payload)> frames) =>
        frames.SelectMany(f => DockerStreamDemultiplexer.EncodeFrame(f.Stream, f.Payload)).ToArray();

    private static async Task<List<DockerStreamFrame>> DemuxAsync(Stream stream, bool raw = false, int maxFrameSize = DockerStreamDemultiplexer.DefaultMaxFrameSize)
    {
        var frames = new List<DockerStreamFrame>();
        await foreach (var frame in DockerStreamDemultiplexer.ReadFramesAsync(stream, raw, maxFrameSize))
        {
            frames.Add(frame);
        }

        return frames;
    }

    private static void AssertSameFrames((DockerStreamKind Stream, byte[] Payload)[] expected, List<DockerStreamFrame> actual, string because)
    {
        Assert.True(expected.Length == actual.Count, $"{because}: expected {expected.Length} frames, got {actual.Count}");
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i].Stream == actual[i].Stream, $"{because}: frame {i} stream");
            Assert.True(expected[i].Payload.AsSpan().SequenceEqual(actual[i].Payload.Span), $"{because}: frame {i} payload");
        }
    }
}
