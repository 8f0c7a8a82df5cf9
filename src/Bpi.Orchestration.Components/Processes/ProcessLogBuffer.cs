using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Threading.Channels;

namespace Bpi.Orchestration.Processes;

/// <summary>
/// The last N output lines of one instance (stdout and stderr interleaved, oldest first), with followers that
/// receive new lines as they arrive. Secret values of the component are replaced by <c>***</c> before a line is kept.
/// </summary>
internal sealed class ProcessLogBuffer
{
    internal const string Redacted = "***";

    private readonly Lock _gate = new();
    private readonly Queue<string> _lines;
    private readonly int _capacity;
    private readonly int _maxLineLength;
    private readonly string[] _secrets;
    private readonly List<Channel<string>> _followers = [];
    private int _openWriters;
    private bool _completed;

    public ProcessLogBuffer(int capacity, int maxLineLength, IEnumerable<string> secretValues)
    {
        _capacity = capacity;
        _maxLineLength = maxLineLength;
        _lines = new Queue<string>(Math.Min(capacity, 1024));

        // Short values would blank out ordinary text; secrets shorter than 4 characters are not searched for.
        _secrets = [.. secretValues.Where(s => s.Length >= 4).Distinct(StringComparer.Ordinal).OrderByDescending(s => s.Length)];
    }

    /// <summary>Whether every output stream has ended (no line will be added any more).</summary>
    public bool IsCompleted
    {
        get
        {
            lock (_gate)
            {
                return _completed;
            }
        }
    }

    public IReadOnlyList<string> Tail(int lines)
    {
        lock (_gate)
        {
            return lines <= 0 ? [] : [.. _lines.Skip(Math.Max(0, _lines.Count - lines))];
        }
    }

    /// <summary>Adds a line that does not come from the process (for example why it could not be watched).</summary>
    public void AddNote(string line) => Add(line);

    /// <summary>Announces how many streams <see cref="PumpAsync"/> will read, before reading any of them.</summary>
    public void ExpectStreams(int count)
    {
        lock (_gate)
        {
            _openWriters += count;
        }
    }

    /// <summary>Reads one output stream line by line until it ends; call once per stream announced with <see cref="ExpectStreams"/>.</summary>
    public async Task PumpAsync(Stream stream)
    {
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, leaveOpen: true));
        var partial = new ArrayBufferWriter<byte>();
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
                {
                    break;
                }

                var buffer = result.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } newline)
                {
                    AppendBounded(partial, buffer.Slice(0, newline));
                    FlushLine(partial);
                    buffer = buffer.Slice(buffer.GetPosition(1, newline));
                }

                AppendBounded(partial, buffer);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            if (partial.WrittenCount > 0)
            {
                FlushLine(partial);
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            CompleteWriter();
        }
    }

    /// <summary>The kept lines, then every new line until the output ends or <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<string> FollowAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string[] backlog;
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(Math.Max(_capacity, 16))
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_gate)
        {
            backlog = [.. _lines];
            if (_completed)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _followers.Add(channel);
            }
        }

        try
        {
            foreach (var line in backlog)
            {
                yield return line;
            }

            await foreach (var line in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return line;
            }
        }
        finally
        {
            lock (_gate)
            {
                _followers.Remove(channel);
            }
        }
    }

    private void AppendBounded(ArrayBufferWriter<byte> partial, ReadOnlySequence<byte> bytes)
    {
        // Four bytes per character at most: enough to hold MaxLineLength characters of UTF-8.
        var room = (_maxLineLength * 4) + 4 - partial.WrittenCount;
        if (room <= 0)
        {
            return;
        }

        foreach (var segment in bytes)
        {
            var take = (int)Math.Min(segment.Length, room);
            partial.Write(segment.Span[..take]);
            room -= take;
            if (room <= 0)
            {
                return;
            }
        }
    }

    private void FlushLine(ArrayBufferWriter<byte> partial)
    {
        var span = partial.WrittenSpan;
        if (span.Length > 0 && span[^1] == (byte)'\r')
        {
            span = span[..^1];
        }

        var line = Encoding.UTF8.GetString(span);
        partial.ResetWrittenCount();
        if (line.Length > _maxLineLength)
        {
            line = string.Concat(line.AsSpan(0, _maxLineLength), "…");
        }

        Add(line);
    }

    private void Add(string line)
    {
        foreach (var secret in _secrets)
        {
            line = line.Replace(secret, Redacted, StringComparison.Ordinal);
        }

        lock (_gate)
        {
            if (_capacity > 0)
            {
                if (_lines.Count == _capacity)
                {
                    _lines.Dequeue();
                }

                _lines.Enqueue(line);
            }

            foreach (var follower in _followers)
            {
                follower.Writer.TryWrite(line);
            }
        }
    }

    private void CompleteWriter()
    {
        lock (_gate)
        {
            if (--_openWriters > 0)
            {
                return;
            }

            _completed = true;
            foreach (var follower in _followers)
            {
                follower.Writer.TryComplete();
            }

            _followers.Clear();
        }
    }

    /// <summary>Marks the output as ended when no stream is being read (an instance adopted after a restart).</summary>
    public void CompleteWithoutStreams()
    {
        ExpectStreams(1);
        CompleteWriter();
    }
}
