using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;

namespace Bpi.Orchestration.Components.Docker.Engine.Streams;

/// <summary>
/// Splits the engine's multiplexed output stream (logs, attach, exec) into frames. Each frame is an 8-byte header —
/// stream type (0 stdin, 1 stdout, 2 stderr, 3 daemon error), three zero bytes, the payload length as a big-endian
/// uint32 — followed by the payload. A container with a TTY sends raw bytes instead; whether a stream is raw is decided
/// by the container's (or exec's) TTY setting, because API 1.41 labels both kinds with the same content type.
/// </summary>
/// <remarks>Frames may arrive split at any byte across reads; unknown stream types, non-zero padding, frames larger
/// than the limit and a stream that ends inside a frame are rejected as malformed.</remarks>
internal static class DockerStreamDemultiplexer
{
    public const int HeaderSize = 8;

    /// <summary>The largest frame accepted by default. The engine writes log lines of at most 16 KiB and exec output in 32 KiB chunks.</summary>
    public const int DefaultMaxFrameSize = 1024 * 1024;

    private const byte SystemErrorStream = 3;

    public static async IAsyncEnumerable<DockerStreamFrame> ReadFramesAsync(
        Stream stream,
        bool raw,
        int maxFrameSize = DefaultMaxFrameSize,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFrameSize);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            var frames = new List<DockerStreamFrame>();
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                frames.Clear();
                if (raw)
                {
                    if (!buffer.IsEmpty)
                    {
                        frames.Add(new DockerStreamFrame(DockerStreamKind.Stdout, buffer.ToArray()));
                        buffer = buffer.Slice(buffer.End);
                    }
                }
                else
                {
                    while (TryReadFrame(ref buffer, maxFrameSize, out var frame))
                    {
                        frames.Add(frame);
                    }
                }

                var leftover = buffer.Length;
                reader.AdvanceTo(buffer.Start, buffer.End);
                foreach (var frame in frames)
                {
                    yield return frame;
                }

                if (result.IsCompleted)
                {
                    if (leftover > 0)
                    {
                        throw DockerEngineErrors.MalformedStream($"the stream ended inside a frame ({leftover} byte(s) of an incomplete frame)");
                    }

                    break;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads one complete frame from the front of <paramref name="buffer"/>, or returns false when more bytes are needed.</summary>
    internal static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out DockerStreamFrame frame)
    {
        frame = default;
        if (buffer.IsEmpty)
        {
            return false;
        }

        // Validate the stream type as soon as its byte is here, so garbage is rejected without waiting for 8 bytes.
        var type = buffer.FirstSpan[0];
        if (type > SystemErrorStream)
        {
            throw DockerEngineErrors.MalformedStream($"unknown stream type {type} in a frame header (expected 0, 1, 2 or 3); is the container's output raw (TTY)?");
        }

        if (buffer.Length < HeaderSize)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        if (header[1] != 0 || header[2] != 0 || header[3] != 0)
        {
            throw DockerEngineErrors.MalformedStream($"a frame header has non-zero padding bytes ({header[1]}, {header[2]}, {header[3]})");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        if (length > (uint)maxFrameSize)
        {
            throw DockerEngineErrors.MalformedStream($"a frame of {length} bytes exceeds the limit of {maxFrameSize} bytes");
        }

        if (buffer.Length < HeaderSize + length)
        {
            return false;
        }

        var payload = buffer.Slice(HeaderSize, length).ToArray();
        buffer = buffer.Slice(HeaderSize + length);
        if (type == SystemErrorStream)
        {
            throw new DockerEngineException(
                OrchestrationErrorKind.RuntimeUnavailable,
                $"The Docker Engine reported an error inside the output stream: {Encoding.UTF8.GetString(payload)}",
                statusCode: null,
                engineMessage: Encoding.UTF8.GetString(payload));
        }

        frame = new DockerStreamFrame((DockerStreamKind)type, payload);
        return true;
    }

    /// <summary>Writes one frame in the engine's format (for tests and fakes of the engine).</summary>
    internal static byte[] EncodeFrame(DockerStreamKind stream, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[HeaderSize + payload.Length];
        bytes[0] = (byte)stream;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), (uint)payload.Length);
        payload.CopyTo(bytes.AsSpan(HeaderSize));
        return bytes;
    }
}
