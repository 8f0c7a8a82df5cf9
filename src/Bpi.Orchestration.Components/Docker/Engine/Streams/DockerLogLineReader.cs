using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Bpi.Orchestration.Components.Docker.Engine.Streams;

/// <summary>Turns frames of container output into lines, keeping stdout and stderr apart, and parses the engine's timestamps.</summary>
internal static class DockerLogLineReader
{
    public static async IAsyncEnumerable<DockerLogLine> ReadLinesAsync(
        IAsyncEnumerable<DockerStreamFrame> frames,
        bool timestamps,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(frames);
        var pending = new Dictionary<DockerStreamKind, ArrayBufferWriter<byte>>();
        await foreach (var frame in frames.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (!pending.TryGetValue(frame.Stream, out var partial))
            {
                partial = new ArrayBufferWriter<byte>();
                pending[frame.Stream] = partial;
            }

            foreach (var text in SplitLines(frame.Payload.Span, partial))
            {
                yield return ToLine(frame.Stream, text, timestamps);
            }
        }

        foreach (var (stream, partial) in pending)
        {
            if (partial.WrittenCount > 0)
            {
                yield return ToLine(stream, Decode(partial.WrittenSpan), timestamps);
            }
        }
    }

    /// <summary>The complete lines in <paramref name="payload"/>, the first prefixed with what <paramref name="partial"/> held; the rest stays in <paramref name="partial"/>.</summary>
    private static List<string> SplitLines(ReadOnlySpan<byte> payload, ArrayBufferWriter<byte> partial)
    {
        var lines = new List<string>();
        int newline;
        while ((newline = payload.IndexOf((byte)'\n')) >= 0)
        {
            if (partial.WrittenCount > 0)
            {
                partial.Write(payload[..newline]);
                lines.Add(Decode(partial.WrittenSpan));
                partial.Clear();
            }
            else
            {
                lines.Add(Decode(payload[..newline]));
            }

            payload = payload[(newline + 1)..];
        }

        if (!payload.IsEmpty)
        {
            partial.Write(payload);
        }

        return lines;
    }

    internal static DockerLogLine ToLine(DockerStreamKind stream, string text, bool timestamps)
    {
        if (timestamps)
        {
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            var stamp = space > 0 ? text[..space] : text;
            if (TryParseTimestamp(stamp, out var timestamp))
            {
                return new DockerLogLine(stream, timestamp, space > 0 ? text[(space + 1)..] : "");
            }
        }

        return new DockerLogLine(stream, null, text);
    }

    /// <summary>Parses the engine's RFC 3339 timestamps, which carry nanoseconds (more digits than <see cref="DateTimeOffset"/> keeps).</summary>
    internal static bool TryParseTimestamp(string text, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            var digits = Math.Min(end - dot - 1, 7);
            text = text[..(dot + 1 + digits)] + text[end..];
            if (digits == 0)
            {
                text = text.Remove(dot, 1);
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out timestamp);
    }

    private static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (!bytes.IsEmpty && bytes[^1] == (byte)'\r')
        {
            bytes = bytes[..^1];
        }

        return Encoding.UTF8.GetString(bytes);
    }
}
