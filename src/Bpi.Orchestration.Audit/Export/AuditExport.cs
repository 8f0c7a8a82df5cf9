using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// Writes a self-contained export of an audit log: one file with every entry up to a signed checkpoint, the checkpoint,
/// and the signers' public keys and key ids, which a third party verifies offline with
/// <see cref="AuditVerifier.VerifyExportAsync(string, CheckpointVerifier, CancellationToken)"/> and the public key it
/// trusts. Format (integers big-endian, frames as in segments: <c>uint32 length ‖ uint32 CRC-32C ‖ body</c>):
/// <code>
/// "BPIAUDIT-EXPORT1"           16-byte magic
/// frame: signed checkpoint     UTF-8 signed note
/// frame: verifier keys         UTF-8, one "name+keyid+base64 key" per line (informational: trust your own copy)
/// uint64 entry count           equal to the checkpoint's tree size
/// frame × count                the entries' canonical encodings, in sequence order
/// </code>
/// </summary>
public static class AuditExport
{
    internal static ReadOnlySpan<byte> Magic => "BPIAUDIT-EXPORT1"u8;

    /// <summary>
    /// Exports every entry of <paramref name="store"/> up to its newest checkpoint; a new checkpoint is signed first
    /// when the store has signers, so the export covers everything committed.
    /// </summary>
    /// <param name="store">A <see cref="FileAuditStore"/> or <see cref="InMemoryAuditStore"/>.</param>
    /// <param name="destination">Where to write the export.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>The checkpoint the export is anchored to.</returns>
    /// <exception cref="AuditStoreException">The store has no signed checkpoint.</exception>
    public static async Task<SignedCheckpoint> WriteAsync(IAuditStore store, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var engine = await AuditVerifier.CurrentEngineOfAsync(store, cancellationToken).ConfigureAwait(false);
        var checkpoint = engine.HasSigners
            ? await store.CreateCheckpointAsync(cancellationToken).ConfigureAwait(false)
            : store.LatestCheckpoint ?? throw new AuditStoreException("The store has no signed checkpoint to anchor an export to; add a CheckpointSigner to the store options.");

        await destination.WriteAsync(Magic.ToArray(), cancellationToken).ConfigureAwait(false);
        await destination.WriteAsync(Frame(Encoding.UTF8.GetBytes(checkpoint.NoteText)), cancellationToken).ConfigureAwait(false);
        var keys = string.Concat(engine.Signers.Select(s => s.VerifierKey + "\n"));
        await destination.WriteAsync(Frame(Encoding.UTF8.GetBytes(keys)), cancellationToken).ConfigureAwait(false);
        var count = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(count, checkpoint.TreeSize);
        await destination.WriteAsync(count, cancellationToken).ConfigureAwait(false);
        await foreach (var block in engine.Storage.ReadFramesAsync(0, checkpoint.TreeSize, cancellationToken).ConfigureAwait(false))
        {
            await destination.WriteAsync(block.Buffer.AsMemory(0, block.Length), cancellationToken).ConfigureAwait(false);
        }

        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        return checkpoint;
    }

    /// <summary>Exports to a file (written to a temporary name, flushed to disk, then renamed into place).</summary>
    /// <param name="store">A <see cref="FileAuditStore"/> or <see cref="InMemoryAuditStore"/>.</param>
    /// <param name="path">The export file to create or replace.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>The checkpoint the export is anchored to.</returns>
    public static async Task<SignedCheckpoint> WriteAsync(IAuditStore store, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var temporary = path + ".tmp";
        SignedCheckpoint checkpoint;
        var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1024 * 1024, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            checkpoint = await WriteAsync(store, stream, cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        return checkpoint;
    }

    internal static AuditVerificationResult Verify(Stream export, CheckpointVerifier verifier, CancellationToken cancellationToken)
    {
        var reader = new SequentialFrameReader(export, 0);
        Span<byte> magic = stackalloc byte[16];
        if (!reader.TryReadRaw(magic) || !magic.SequenceEqual(Magic))
        {
            return AuditVerifier.Failed(AuditVerificationFailure.DamagedFile, "The file is not an audit export (its magic is not 'BPIAUDIT-EXPORT1').", true, null, 0);
        }

        var notePosition = reader.Position;
        if (reader.TryNext(true, 1_000_000, out var offset, out var length) != FrameStatus.Frame || !RecordFraming.CrcMatches(reader.Buffer.AsSpan(offset, length)))
        {
            return AuditVerifier.Failed(AuditVerificationFailure.InvalidCheckpoint, "The export's checkpoint record is damaged (framing or CRC-32C).", true, null, notePosition);
        }

        var note = Encoding.UTF8.GetString(reader.Buffer, offset + RecordFraming.HeaderSize, length - RecordFraming.HeaderSize);
        if (!verifier.TryVerify(note, out var checkpoint, out var error))
        {
            return AuditVerifier.Failed(AuditVerificationFailure.InvalidCheckpoint, "The export's checkpoint does not verify: " + error, true, null, notePosition);
        }

        var keysPosition = reader.Position;
        if (reader.TryNext(true, 1_000_000, out offset, out length) != FrameStatus.Frame || !RecordFraming.CrcMatches(reader.Buffer.AsSpan(offset, length)))
        {
            return AuditVerifier.Failed(AuditVerificationFailure.DamagedFile, "The export's key record is damaged (framing or CRC-32C).", true, null, keysPosition);
        }

        Span<byte> countBytes = stackalloc byte[8];
        var countPosition = reader.Position;
        if (!reader.TryReadRaw(countBytes))
        {
            return AuditVerifier.Failed(AuditVerificationFailure.DamagedFile, "The export ends before its entry count.", true, null, countPosition);
        }

        var count = BinaryPrimitives.ReadInt64BigEndian(countBytes);
        if (count != checkpoint.TreeSize)
        {
            return AuditVerifier.Failed(AuditVerificationFailure.DamagedFile, string.Create(CultureInfo.InvariantCulture, $"The export says it holds {count} entries, but its checkpoint covers {checkpoint.TreeSize}."), true, null, countPosition);
        }

        var chain = new ChainVerifier(new CompactRange(0), AuditHash.Zero, [new Expectation(checkpoint.TreeSize, checkpoint.RootHash, $"the export's signed checkpoint (tree size {checkpoint.TreeSize})", checkpoint)])
        {
            SignaturesChecked = true,
        };
        if (AuditVerifier.FeedFrames(chain, reader, null, count, cancellationToken)
            && reader.TryNext(true, RecordFraming.MaxBodyLength, out _, out _) != FrameStatus.End)
        {
            chain.Fail(AuditVerificationFailure.SequenceMismatch, count, null, reader.Position, string.Create(CultureInfo.InvariantCulture, $"the export holds data after its {count} entries: entries were appended to it"));
        }

        return chain.Complete("The export verifies");
    }

    private static byte[] Frame(byte[] body)
    {
        var frame = new byte[RecordFraming.HeaderSize + body.Length];
        body.CopyTo(frame, RecordFraming.HeaderSize);
        RecordFraming.Seal(frame);
        return frame;
    }
}
