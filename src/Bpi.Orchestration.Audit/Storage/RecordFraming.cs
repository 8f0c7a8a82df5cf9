using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The framing of one record in a segment, checkpoint or export file:
/// <c>uint32 length (big-endian) ‖ uint32 CRC-32C (big-endian) ‖ body</c>, where the CRC covers the four length bytes
/// and the body, so a flipped length is caught as surely as a flipped body byte.
/// </summary>
internal static class RecordFraming
{
    public const int HeaderSize = 8;

    /// <summary>The largest body any file of this format holds (an entry with a 16 MiB payload and four long strings).</summary>
    public const int MaxBodyLength = AuditEntryEncoding.MaxPayloadBytes + (4 * (ushort.MaxValue + 2)) + AuditEntryEncoding.FixedSize + 4;

    public static uint ComputeCrc(ReadOnlySpan<byte> frameHeader, ReadOnlySpan<byte> body) =>
        Crc32C.Finish(Crc32C.Append(Crc32C.Append(Crc32C.Start, frameHeader[..4]), body));

    /// <summary>Writes the length and CRC of a frame whose body already sits at <c>frame[HeaderSize..]</c>.</summary>
    public static void Seal(Span<byte> frame)
    {
        var bodyLength = frame.Length - HeaderSize;
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)bodyLength);
        BinaryPrimitives.WriteUInt32BigEndian(frame[4..], ComputeCrc(frame, frame[HeaderSize..]));
    }

    /// <summary>
    /// Fills the sequence number and previous hash of an entry frame made by
    /// <see cref="AuditEntryEncoding.EncodeFrame"/>, writes its leaf hash to <paramref name="leafHash"/> and seals it.
    /// </summary>
    public static void SealEntry(Span<byte> frame, long sequence, ReadOnlySpan<byte> previousHash, Span<byte> leafHash)
    {
        var body = frame[HeaderSize..];
        BinaryPrimitives.WriteInt64BigEndian(body[AuditEntryEncoding.SequenceOffset..], sequence);
        previousHash.CopyTo(body[AuditEntryEncoding.PreviousHashOffset..]);
        // The byte before the body is free until the CRC is written: use it for the leaf prefix.
        frame[HeaderSize - 1] = MerkleHashing.LeafPrefix;
        Sha256Hasher.Hash(frame[(HeaderSize - 1)..], leafHash);
        Seal(frame);
    }

    /// <summary>Reads the body length of the frame at the start of <paramref name="data"/>.</summary>
    public static uint ReadLength(ReadOnlySpan<byte> data) => BinaryPrimitives.ReadUInt32BigEndian(data);

    /// <summary>Whether the frame's CRC matches its length and body.</summary>
    public static bool CrcMatches(ReadOnlySpan<byte> frame) =>
        BinaryPrimitives.ReadUInt32BigEndian(frame[4..]) == ComputeCrc(frame, frame[HeaderSize..]);

    /// <summary>
    /// Computes the leaf hash of the entry body in <paramref name="frame"/>, using the byte before the body (the last
    /// CRC byte) as scratch; the frame's CRC must have been checked first, because the byte is overwritten.
    /// </summary>
    public static void HashEntryInPlace(Span<byte> frame, Span<byte> leafHash)
    {
        frame[HeaderSize - 1] = MerkleHashing.LeafPrefix;
        Sha256Hasher.Hash(frame[(HeaderSize - 1)..], leafHash);
    }
}
