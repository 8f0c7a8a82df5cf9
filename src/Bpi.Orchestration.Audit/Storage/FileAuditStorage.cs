using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The durable storage of <see cref="FileAuditStore"/>: segment files of framed entries written through a
/// <see cref="PipeWriter"/> and made durable with one fsync per commit, an in-memory index from sequence number to
/// frame end offset (rebuilt from the segments on open), and an append-only checkpoint file.
/// </summary>
internal sealed partial class FileAuditStorage : AuditStorage
{
    public const string CheckpointFileName = "checkpoints.log";
    public const string LockFileName = "LOCK";
    private const int MaxCheckpointFrame = 1_000_000 + RecordFraming.HeaderSize;

    /// <summary>The longest damaged tail of the checkpoint file taken for a torn write: one record (a note with a dozen signatures is under 4 KiB).</summary>
    private const int MaxTornCheckpointBytes = 16 * 1024;

    private readonly string _directory;
    private readonly FileAuditStoreOptions _options;
    private readonly ILogger _logger;
    private readonly AppendOnlyLongList _ends;
    private readonly FileStream _lockFile;
    private readonly SafeFileHandle _checkpointHandle;
    private readonly Lock _readHandlesLock = new();
    private Segment[] _segments;
    private long _checkpointLength;
    private FileStream _active = null!;
    private PipeWriter _pipe = null!;
    private long _position;
    private long _appended;

    private FileAuditStorage(
        string directory,
        FileAuditStoreOptions options,
        ILogger logger,
        FileStream lockFile,
        Segment[] segments,
        AppendOnlyLongList ends,
        SafeFileHandle checkpointHandle,
        long checkpointLength)
    {
        _directory = directory;
        _options = options;
        _logger = logger;
        _lockFile = lockFile;
        _segments = segments;
        _ends = ends;
        _checkpointHandle = checkpointHandle;
        _checkpointLength = checkpointLength;
        _appended = ends.Count;
    }

    public int SegmentCount => Volatile.Read(ref _segments).Length;

    /// <summary>How many commits (fsyncs of the segment) happened since open; tests use it to see group commit.</summary>
    public long CommitCount { get; private set; }

    public override void Append(long sequence, ReadOnlySpan<byte> frame)
    {
        var destination = _pipe.GetSpan(frame.Length);
        frame.CopyTo(destination);
        _pipe.Advance(frame.Length);
        _position += frame.Length;
        _ends.Add(_position);
        _appended++;
    }

    public override async ValueTask<long> WriteAsync(AuditLogHead head, CancellationToken cancellationToken)
    {
        var result = await _pipe.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new IOException("Writing the audit segment was cancelled.");
        }

        return _position;
    }

    public override void Sync(long token)
    {
        DirectorySync.FlushFileData(_active.SafeFileHandle);
        CommitCount++;
        Volatile.Read(ref _segments)[^1].CommittedLength = token;
    }

    internal override bool NeedsRotation => _position >= _options.SegmentSize;

    internal override ValueTask RotateAsync(long firstSequence) => StartSegmentAsync(firstSequence);

    public override ValueTask WriteCheckpointAsync(SignedCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(checkpoint.NoteText);
        var frame = new byte[RecordFraming.HeaderSize + body.Length];
        body.CopyTo(frame, RecordFraming.HeaderSize);
        RecordFraming.Seal(frame);
        RandomAccess.Write(_checkpointHandle, frame, _checkpointLength);
        RandomAccess.FlushToDisk(_checkpointHandle);
        _checkpointLength += frame.Length;
        return ValueTask.CompletedTask;
    }

    public override async IAsyncEnumerable<AuditFrameBlock> ReadFramesAsync(long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const int BlockBytes = 4 * 1024 * 1024;
        var sequence = from;
        while (sequence < to)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var segments = Volatile.Read(ref _segments);
            var segment = FindSegment(segments, sequence);
            var segmentEnd = segment.Index + 1 < segments.Length ? segments[segment.Index + 1].FirstSequence : long.MaxValue;
            var start = sequence == segment.Segment.FirstSequence ? SegmentHeader.Size : _ends[sequence - 1];
            var last = sequence;
            var limit = Math.Min(to, segmentEnd);
            while (last + 1 < limit && _ends[last + 1] - start <= BlockBytes)
            {
                last++;
            }

            var end = _ends[last];
            var buffer = new byte[end - start];
            var handle = GetReadHandle(segment.Segment);
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(read), start + read, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new AuditStoreException($"The segment {segment.Segment.Path} is shorter than its index says: it was truncated while the store was open. Stop the store and run AuditVerifier.VerifyDirectoryAsync.");
                }

                read += n;
            }

            yield return new AuditFrameBlock(buffer, buffer.Length, sequence, (int)(last - sequence + 1), segment.Segment.Path, start);
            sequence = last + 1;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await _pipe.CompleteAsync().ConfigureAwait(false);
            await _active.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            foreach (var segment in Volatile.Read(ref _segments))
            {
                segment.ReadHandle?.Dispose();
            }

            _checkpointHandle.Dispose();
            await _lockFile.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static (Segment Segment, int Index) FindSegment(Segment[] segments, long sequence)
    {
        var low = 0;
        var high = segments.Length - 1;
        while (low < high)
        {
            var mid = (low + high + 1) / 2;
            if (segments[mid].FirstSequence <= sequence)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        return (segments[low], low);
    }

    private SafeFileHandle GetReadHandle(Segment segment)
    {
        lock (_readHandlesLock)
        {
            return segment.ReadHandle ??= File.OpenHandle(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
    }

    private async ValueTask StartSegmentAsync(long firstSequence)
    {
        if (_pipe is not null)
        {
            await _pipe.CompleteAsync().ConfigureAwait(false);
            await _active.DisposeAsync().ConfigureAwait(false);
        }

        var path = Path.Combine(_directory, SegmentHeader.FileName(firstSequence));
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        var header = new byte[SegmentHeader.Size];
        SegmentHeader.Write(header, firstSequence);
        stream.Write(header);
        RandomAccess.FlushToDisk(stream.SafeFileHandle);
        DirectorySync.Flush(_directory);
        OpenWriter(stream, SegmentHeader.Size);
        var segments = Volatile.Read(ref _segments);
        Volatile.Write(ref _segments, [.. segments, new Segment(firstSequence, path) { CommittedLength = SegmentHeader.Size }]);
        Log.SegmentStarted(_logger, path, firstSequence);
    }

    private void OpenWriter(FileStream stream, long position)
    {
        stream.Position = position;
        _active = stream;
        _position = position;
        _pipe = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 256 * 1024, leaveOpen: true));
    }

    /// <summary>One segment file; <see cref="CommittedLength"/> is the length up to the last fsync.</summary>
    private sealed class Segment(long firstSequence, string path)
    {
        private long _committedLength;

        public long FirstSequence { get; } = firstSequence;

        public string Path { get; } = path;

        public long CommittedLength
        {
            get => Volatile.Read(ref _committedLength);
            set => Volatile.Write(ref _committedLength, value);
        }

        public SafeFileHandle? ReadHandle { get; set; }
    }

    internal static int MaxFrameLength(AuditStoreOptions options) =>
        RecordFraming.HeaderSize + AuditEntryEncoding.FixedSize + (4 * (2 + ushort.MaxValue)) + 4 + options.MaxPayloadBytes;

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            var read = RandomAccess.Read(handle, buffer, offset);
            if (read == 0)
            {
                throw new EndOfStreamException();
            }

            buffer = buffer[read..];
            offset += read;
        }
    }

    private static uint ReadUInt32(ReadOnlySpan<byte> data) => BinaryPrimitives.ReadUInt32BigEndian(data);
}
