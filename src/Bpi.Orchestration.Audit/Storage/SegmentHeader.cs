using System.Buffers.Binary;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The 32-byte header of a segment file: <c>"BPIAUDIT"</c>, uint16 format version (1), uint16 header size (32),
/// uint32 zero, uint64 first sequence number, uint32 zero, uint32 CRC-32C of the 28 bytes before it (big-endian).
/// </summary>
internal static class SegmentHeader
{
    public const int Size = 32;
    public const ushort Version = 1;
    public const string Extension = ".seg";
    private static ReadOnlySpan<byte> Magic => "BPIAUDIT"u8;

    public static void Write(Span<byte> destination, long firstSequence)
    {
        destination[..Size].Clear();
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], Version);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], Size);
        BinaryPrimitives.WriteInt64BigEndian(destination[16..], firstSequence);
        BinaryPrimitives.WriteUInt32BigEndian(destination[28..], Crc32C.Compute(destination[..28]));
    }

    public static string? Validate(ReadOnlySpan<byte> header, long expectedFirstSequence)
    {
        if (header.Length < Size)
        {
            return "the segment header is incomplete";
        }

        if (!header[..8].SequenceEqual(Magic))
        {
            return "the file does not start with the segment magic 'BPIAUDIT'";
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(header[28..]) != Crc32C.Compute(header[..28]))
        {
            return "the segment header's CRC does not match";
        }

        if (BinaryPrimitives.ReadUInt16BigEndian(header[8..]) != Version || BinaryPrimitives.ReadUInt16BigEndian(header[10..]) != Size)
        {
            return $"the segment has format version {BinaryPrimitives.ReadUInt16BigEndian(header[8..])}; this library reads version {Version}";
        }

        var first = BinaryPrimitives.ReadInt64BigEndian(header[16..]);
        if (first != expectedFirstSequence)
        {
            return $"the segment header says it starts at entry {first}, but it should start at {expectedFirstSequence}";
        }

        return null;
    }

    public static string FileName(long firstSequence) => firstSequence.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + Extension;

    public static bool TryParseFileName(string fileName, out long firstSequence)
    {
        firstSequence = -1;
        return fileName.Length == 20 + Extension.Length
            && fileName.EndsWith(Extension, StringComparison.Ordinal)
            && fileName.AsSpan(0, 20).IndexOfAnyExceptInRange('0', '9') < 0
            && long.TryParse(fileName.AsSpan(0, 20), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out firstSequence);
    }

    /// <summary>The segment files of <paramref name="directory"/>, ordered by first sequence number.</summary>
    public static List<(long FirstSequence, string Path)> List(string directory)
    {
        var segments = new List<(long, string)>();
        foreach (var path in Directory.EnumerateFiles(directory, "*" + Extension))
        {
            if (TryParseFileName(System.IO.Path.GetFileName(path), out var first))
            {
                segments.Add((first, path));
            }
        }

        segments.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return segments;
    }
}
