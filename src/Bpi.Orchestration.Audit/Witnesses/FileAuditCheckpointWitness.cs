using System.Text;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// A witness that appends every checkpoint it receives to one file, framed like the store's <c>checkpoints.log</c>
/// (<c>uint32 length ‖ uint32 CRC-32C ‖ signed note</c>), and fsyncs it. Put the file where whoever can write the
/// store's directory cannot: another disk, another user's directory, a mounted share, a write-once bucket. It refuses a
/// checkpoint that would shrink the log or fork it (same tree size, different root). Several logs may share one file:
/// checkpoints are told apart by origin.
/// </summary>
public sealed class FileAuditCheckpointWitness : IAuditCheckpointWitness
{
    private const int MaxRecordBody = 1_000_000;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SignedCheckpoint> _latest = new(StringComparer.Ordinal);
    private bool _loaded;

    /// <summary>Creates a witness over <paramref name="path"/> (created, with its directory, on first publication).</summary>
    /// <param name="path">The witness file.</param>
    public FileAuditCheckpointWitness(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The full path of the witness file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public string Description => Path;

    /// <inheritdoc />
    public ValueTask PublishAsync(SignedCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            LoadIfNeeded();
            if (_latest.TryGetValue(checkpoint.Origin, out var held))
            {
                if (held.TreeSize == checkpoint.TreeSize && held.RootHash == checkpoint.RootHash)
                {
                    return ValueTask.CompletedTask;
                }

                if (held.TreeSize >= checkpoint.TreeSize)
                {
                    throw new AuditStoreException($"The witness {Path} refuses the checkpoint of '{checkpoint.Origin}' at tree size {checkpoint.TreeSize}: it already holds one at tree size {held.TreeSize}{(held.TreeSize == checkpoint.TreeSize ? " with another root" : "")}. The log was rolled back or rewritten; run AuditVerifier.VerifyDirectoryAsync with this witness.");
                }
            }

            var body = Encoding.UTF8.GetBytes(checkpoint.NoteText);
            var frame = new byte[RecordFraming.HeaderSize + body.Length];
            body.CopyTo(frame, RecordFraming.HeaderSize);
            RecordFraming.Seal(frame);
            try
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
                using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
                stream.Write(frame);
                stream.Flush(flushToDisk: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new AuditStoreException($"The checkpoint could not be written to the witness file {Path}: {ex.Message}. Check the path and its permissions; the next checkpoint is published again.", ex);
            }

            _latest[checkpoint.Origin] = checkpoint;
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<SignedCheckpoint?> GetLatestAsync(string origin, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(origin);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            // Read afresh: the file may have been written by another process since.
            _loaded = false;
            LoadIfNeeded();
            return ValueTask.FromResult(_latest.GetValueOrDefault(origin));
        }
    }

    private void LoadIfNeeded()
    {
        if (_loaded)
        {
            return;
        }

        _latest.Clear();
        if (!File.Exists(Path))
        {
            _loaded = true;
            return;
        }

        try
        {
            using var handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var length = RandomAccess.GetLength(handle);
            var reader = new SequentialFrameReader(handle, 0, length, 64 * 1024);
            while (true)
            {
                var position = reader.Position;
                var status = reader.TryNext(allowRefill: true, MaxRecordBody, out var offset, out var frameLength);
                if (status == FrameStatus.End)
                {
                    break;
                }

                SignedCheckpoint? checkpoint = null;
                string? problem = null;
                if (status != FrameStatus.Frame || !RecordFraming.CrcMatches(reader.Buffer.AsSpan(offset, frameLength)))
                {
                    problem = "its framing or CRC-32C is wrong";
                }
                else
                {
                    checkpoint = SignedCheckpoint.Parse(Encoding.UTF8.GetString(reader.Buffer, offset + RecordFraming.HeaderSize, frameLength - RecordFraming.HeaderSize), out problem);
                }

                if (checkpoint is null)
                {
                    throw new AuditStoreException($"The witness file {Path} is damaged at offset {position} ({problem}). Restore it from a backup; until then it cannot vouch for the log.");
                }

                if (!_latest.TryGetValue(checkpoint.Origin, out var held) || checkpoint.TreeSize >= held.TreeSize)
                {
                    _latest[checkpoint.Origin] = checkpoint;
                }
            }
        }
        catch (IOException ex)
        {
            throw new AuditStoreException($"The witness file {Path} could not be read: {ex.Message}.", ex);
        }

        _loaded = true;
    }
}
