using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Bpi.Orchestration.Components.Docker.Engine.Streams;

/// <summary>Reads the engine's streams of JSON messages (events, import and load progress): one JSON object per line.</summary>
internal static class DockerJsonStreamReader
{
    public const int DefaultMaxMessageSize = 1024 * 1024;

    public static async IAsyncEnumerable<T> ReadAsync<T>(
        Stream stream,
        JsonTypeInfo<T> typeInfo,
        int maxMessageSize = DefaultMaxMessageSize,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(typeInfo);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            var messages = new List<T>();
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                messages.Clear();
                while (TryReadLine(ref buffer, out var line))
                {
                    Add(messages, line, typeInfo);
                }

                if (result.IsCompleted && !buffer.IsEmpty)
                {
                    Add(messages, buffer, typeInfo);
                    buffer = buffer.Slice(buffer.End);
                }

                if (buffer.Length > maxMessageSize)
                {
                    throw DockerEngineErrors.MalformedStream($"a JSON message exceeds {maxMessageSize} bytes without a line break");
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                foreach (var message in messages)
                {
                    yield return message;
                }

                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var position = buffer.PositionOf((byte)'\n');
        if (position is null)
        {
            line = default;
            return false;
        }

        line = buffer.Slice(0, position.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, position.Value));
        return true;
    }

    private static void Add<T>(List<T> messages, ReadOnlySequence<byte> line, JsonTypeInfo<T> typeInfo)
    {
        if (IsBlank(line))
        {
            return;
        }

        try
        {
            var json = new Utf8JsonReader(line);
            var message = JsonSerializer.Deserialize(ref json, typeInfo);
            if (message is not null)
            {
                messages.Add(message);
            }
        }
        catch (JsonException exception)
        {
            throw new DockerEngineException(
                OrchestrationErrorKind.Unknown,
                $"The Docker Engine sent a message that is not valid JSON: {exception.Message}",
                statusCode: null, engineMessage: null, innerException: exception);
        }
    }

    private static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
        {
            foreach (var b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\r' or (byte)'\t'))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
