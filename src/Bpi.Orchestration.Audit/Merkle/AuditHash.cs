using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// A SHA-256 value (32 bytes): an entry's leaf hash, a Merkle node or a tree root. A value type that never allocates;
/// two hashes are equal when their bytes are equal.
/// </summary>
public readonly struct AuditHash : IEquatable<AuditHash>
{
    /// <summary>The length of a hash in bytes.</summary>
    public const int Size = 32;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    /// <summary>Creates a hash from exactly <see cref="Size"/> bytes.</summary>
    /// <param name="bytes">The 32 bytes of the hash.</param>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not 32 bytes long.</exception>
    public AuditHash(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"A SHA-256 hash is {Size} bytes; got {bytes.Length}. Pass the raw digest, not hex or base64 text.", nameof(bytes));
        }

        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    /// <summary>The hash of all-zero bytes, used as the previous hash of the first entry.</summary>
    public static AuditHash Zero => default;

    /// <summary>The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).</summary>
    public static AuditHash EmptyTreeRoot { get; } = new(SHA256.HashData(ReadOnlySpan<byte>.Empty));

    /// <summary>Copies the 32 bytes into <paramref name="destination"/>.</summary>
    /// <param name="destination">At least 32 bytes.</param>
    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"The destination must hold {Size} bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    /// <summary>Returns the 32 bytes as a new array.</summary>
    /// <returns>A new 32-byte array.</returns>
    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>Whether the hash equals <paramref name="bytes"/> (which may have any length).</summary>
    /// <param name="bytes">The bytes to compare with.</param>
    /// <returns><see langword="true"/> when <paramref name="bytes"/> is these 32 bytes.</returns>
    public bool Equals(ReadOnlySpan<byte> bytes) =>
        bytes.Length == Size
        && BinaryPrimitives.ReadUInt64BigEndian(bytes) == _a
        && BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]) == _b
        && BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]) == _c
        && BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]) == _d;

    /// <summary>The standard base64 form (44 characters), as used in checkpoints.</summary>
    /// <returns>The base64 text.</returns>
    public string ToBase64()
    {
        Span<byte> bytes = stackalloc byte[Size];
        CopyTo(bytes);
        return Convert.ToBase64String(bytes);
    }

    /// <summary>The lowercase hexadecimal form (64 characters).</summary>
    /// <returns>The hex text.</returns>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Size];
        CopyTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>Parses 64 hexadecimal characters.</summary>
    /// <param name="hex">The hex text, either case.</param>
    /// <returns>The hash.</returns>
    /// <exception cref="FormatException"><paramref name="hex"/> is not 64 hex characters.</exception>
    public static AuditHash FromHex(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        if (hex.Length != Size * 2)
        {
            throw new FormatException($"A SHA-256 hash in hex is {Size * 2} characters; got {hex.Length}.");
        }

        return new AuditHash(Convert.FromHexString(hex));
    }

    /// <summary>Parses standard base64 text of 32 bytes.</summary>
    /// <param name="base64">The base64 text.</param>
    /// <param name="hash">The hash when parsing succeeded.</param>
    /// <returns><see langword="true"/> when <paramref name="base64"/> is valid base64 of exactly 32 bytes.</returns>
    public static bool TryFromBase64(string? base64, out AuditHash hash)
    {
        hash = default;
        if (base64 is null || base64.Length != 44)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[Size + 2];
        if (!Convert.TryFromBase64String(base64, bytes, out var written) || written != Size)
        {
            return false;
        }

        hash = new AuditHash(bytes[..Size]);
        return true;
    }

    /// <inheritdoc />
    public bool Equals(AuditHash other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    /// <inheritdoc />
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is AuditHash other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);

    /// <summary>Whether two hashes are equal.</summary>
    /// <param name="left">The first hash.</param>
    /// <param name="right">The second hash.</param>
    /// <returns><see langword="true"/> when the bytes are equal.</returns>
    public static bool operator ==(AuditHash left, AuditHash right) => left.Equals(right);

    /// <summary>Whether two hashes differ.</summary>
    /// <param name="left">The first hash.</param>
    /// <param name="right">The second hash.</param>
    /// <returns><see langword="true"/> when the bytes differ.</returns>
    public static bool operator !=(AuditHash left, AuditHash right) => !left.Equals(right);
}
