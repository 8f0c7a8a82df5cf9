using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The canonical byte encoding of an entry (see the package README, "Canonical entry encoding"). All integers are
/// big-endian; strings are UTF-8 with a 16-bit length; the payload is UTF-8 JSON with a 32-bit length:
/// <code>
/// offset  size  field
///  0      1     format version (1)
///  1      8     sequence number (uint64)
///  9      8     timestamp: 100-ns ticks since 1970-01-01T00:00:00Z (int64)
/// 17     32     previous entry's leaf hash (all zero for entry 0)
/// 49      2+n   actor   (uint16 length, UTF-8)
///  …      2+n   action  (uint16 length, UTF-8)
///  …      2+n   target  (uint16 length, UTF-8)
///  …      2+n   outcome (uint16 length, UTF-8)
///  …      4+n   payload (uint32 length, UTF-8 JSON, empty for none)
/// </code>
/// The entry's hash is the RFC 9162 leaf hash <c>SHA-256(0x00 ‖ encoding)</c>, which is both its Merkle leaf and the
/// link the next entry's previous-hash field chains to.
/// </summary>
internal static class AuditEntryEncoding
{
    public const byte FormatVersion = 1;
    public const int SequenceOffset = 1;
    public const int TimestampOffset = 9;
    public const int PreviousHashOffset = 17;
    public const int FixedSize = 49;
    public const int MinimumSize = FixedSize + (4 * 2) + 4;

    /// <summary>The hard limit of one payload, whatever the options say.</summary>
    public const int MaxPayloadBytes = 16 * 1024 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly long UnixEpochTicks = DateTimeOffset.UnixEpoch.UtcTicks;

    /// <summary>
    /// Encodes <paramref name="entry"/> as a frame (<see cref="RecordFraming.HeaderSize"/> bytes of header, then the
    /// body) in a buffer rented from <see cref="ArrayPool{T}.Shared"/>, with the sequence number and previous hash left
    /// zero for the writer to fill in. Validates every field and lists every problem.
    /// </summary>
    public static byte[] EncodeFrame(NewAuditEntry entry, DateTimeOffset timestamp, int maxPayloadBytes, out int frameLength)
    {
        ArgumentNullException.ThrowIfNull(entry);
        List<string>? errors = null;
        var actorLength = MeasureString(entry.Actor, nameof(entry.Actor), required: true, ref errors);
        var actionLength = MeasureString(entry.Action, nameof(entry.Action), required: true, ref errors);
        var targetLength = MeasureString(entry.Target, nameof(entry.Target), required: false, ref errors);
        var outcomeLength = MeasureString(entry.Outcome, nameof(entry.Outcome), required: true, ref errors);
        var payload = entry.Payload.Span;
        if (payload.Length > maxPayloadBytes)
        {
            (errors ??= []).Add($"Payload is {payload.Length} bytes; the limit is {maxPayloadBytes} (raise MaxPayloadBytes or store a reference to the data instead).");
        }
        else if (payload.Length > 0 && !IsSingleJsonValue(payload))
        {
            (errors ??= []).Add("Payload is not one valid UTF-8 JSON value; serialize it with System.Text.Json (or leave it empty).");
        }

        if (errors is not null)
        {
            throw new ArgumentException("The audit entry is invalid; fix every item and append again:" + string.Concat(errors.Select(e => Environment.NewLine + "  - " + e)), nameof(entry));
        }

        var bodyLength = FixedSize + 2 + actorLength + 2 + actionLength + 2 + targetLength + 2 + outcomeLength + 4 + payload.Length;
        frameLength = RecordFraming.HeaderSize + bodyLength;
        var buffer = ArrayPool<byte>.Shared.Rent(frameLength);
        var body = buffer.AsSpan(RecordFraming.HeaderSize, bodyLength);
        body[0] = FormatVersion;
        BinaryPrimitives.WriteInt64BigEndian(body[SequenceOffset..], 0);
        BinaryPrimitives.WriteInt64BigEndian(body[TimestampOffset..], timestamp.UtcTicks - UnixEpochTicks);
        body.Slice(PreviousHashOffset, AuditHash.Size).Clear();
        var position = FixedSize;
        position = WriteString(body, position, entry.Actor, actorLength);
        position = WriteString(body, position, entry.Action, actionLength);
        position = WriteString(body, position, entry.Target, targetLength);
        position = WriteString(body, position, entry.Outcome, outcomeLength);
        BinaryPrimitives.WriteUInt32BigEndian(body[position..], (uint)payload.Length);
        payload.CopyTo(body[(position + 4)..]);
        BinaryPrimitives.WriteUInt32BigEndian(buffer, (uint)bodyLength);
        return buffer;
    }

    /// <summary>Reads the timestamp field of an encoded body.</summary>
    public static DateTimeOffset ReadTimestamp(ReadOnlySpan<byte> body) =>
        new(BinaryPrimitives.ReadInt64BigEndian(body[TimestampOffset..]) + UnixEpochTicks, TimeSpan.Zero);

    public static long ReadSequence(ReadOnlySpan<byte> body) => (long)BinaryPrimitives.ReadUInt64BigEndian(body[SequenceOffset..]);

    public static ReadOnlySpan<byte> ReadPreviousHash(ReadOnlySpan<byte> body) => body.Slice(PreviousHashOffset, AuditHash.Size);

    /// <summary>
    /// Checks that <paramref name="body"/> is a well-formed encoding (version, lengths, UTF-8 of the strings) without
    /// allocating. The JSON of the payload is checked at append time, not here.
    /// </summary>
    public static string? Validate(ReadOnlySpan<byte> body)
    {
        if (body.Length < MinimumSize)
        {
            return $"the entry is {body.Length} bytes, shorter than the smallest valid entry ({MinimumSize})";
        }

        if (body[0] != FormatVersion)
        {
            return $"the entry has format version {body[0]}; this library reads version {FormatVersion}";
        }

        if (BinaryPrimitives.ReadUInt64BigEndian(body[SequenceOffset..]) > long.MaxValue)
        {
            return "the sequence number is out of range";
        }

        var position = FixedSize;
        for (var i = 0; i < 4; i++)
        {
            if (position + 2 > body.Length)
            {
                return "the entry ends inside a string length";
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(body[position..]);
            position += 2;
            if (position + length > body.Length)
            {
                return "a string runs past the end of the entry";
            }

            if (!Utf8.IsValid(body.Slice(position, length)))
            {
                return "a string is not valid UTF-8";
            }

            position += length;
        }

        if (position + 4 > body.Length)
        {
            return "the entry ends inside the payload length";
        }

        var payloadLength = BinaryPrimitives.ReadUInt32BigEndian(body[position..]);
        position += 4;
        if (payloadLength != (uint)(body.Length - position))
        {
            return "the payload length does not match the entry length";
        }

        return null;
    }

    /// <summary>Decodes a body already checked by <see cref="Validate"/> (or throws <see cref="AuditStoreException"/>).</summary>
    public static AuditEntry Decode(ReadOnlySpan<byte> body, AuditHash leafHash)
    {
        var problem = Validate(body);
        if (problem is not null)
        {
            throw new AuditStoreException($"An audit entry cannot be decoded: {problem}. Run AuditVerifier to locate the damage.");
        }

        var position = FixedSize;
        var actor = ReadString(body, ref position);
        var action = ReadString(body, ref position);
        var target = ReadString(body, ref position);
        var outcome = ReadString(body, ref position);
        var payloadLength = (int)BinaryPrimitives.ReadUInt32BigEndian(body[position..]);
        position += 4;
        var payload = body.Slice(position, payloadLength).ToArray();
        return new AuditEntry(
            ReadSequence(body),
            ReadTimestamp(body),
            actor,
            action,
            target,
            outcome,
            payload,
            new AuditHash(ReadPreviousHash(body)),
            leafHash);
    }

    private static string ReadString(ReadOnlySpan<byte> body, ref int position)
    {
        int length = BinaryPrimitives.ReadUInt16BigEndian(body[position..]);
        position += 2;
        var value = length == 0 ? string.Empty : Encoding.UTF8.GetString(body.Slice(position, length));
        position += length;
        return value;
    }

    private static int MeasureString(string? value, string name, bool required, ref List<string>? errors)
    {
        if (value is null)
        {
            (errors ??= []).Add($"{name} is null; set it{(required ? "" : " (an empty string is allowed)")}.");
            return 0;
        }

        if (required && value.Length == 0)
        {
            (errors ??= []).Add($"{name} is empty; every entry needs one.");
            return 0;
        }

        int length;
        try
        {
            length = StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            (errors ??= []).Add($"{name} contains an unpaired surrogate and cannot be encoded as UTF-8.");
            return 0;
        }

        if (length > ushort.MaxValue)
        {
            (errors ??= []).Add($"{name} is {length} UTF-8 bytes; the limit is {ushort.MaxValue}. Put long detail in the payload.");
            return 0;
        }

        return length;
    }

    private static int WriteString(Span<byte> body, int position, string value, int length)
    {
        BinaryPrimitives.WriteUInt16BigEndian(body[position..], (ushort)length);
        StrictUtf8.GetBytes(value, body.Slice(position + 2, length));
        return position + 2 + length;
    }

    private static bool IsSingleJsonValue(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 256 });
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
