using System.Security.Cryptography;
using System.Text;

namespace Bpi.Orchestration.Security.Secrets;

/// <summary>
/// Envelope encryption of secret values with AES-256-GCM: each value gets its own random data key, which encrypts the
/// value (bound to a context such as <c>deployment/component/NAME</c> as associated data, so a ciphertext cannot be moved to
/// another variable); the data key is wrapped with the ring's active key (bound to the key id). The envelope is text:
/// <c>bpi-secret:v1:{keyId}:{wrapped data key}:{encrypted value}</c> (base64 parts, nonces and tags included).
/// </summary>
public sealed class SecretProtector : ISecretSealer
{
    /// <summary>The prefix of every envelope.</summary>
    public const string Prefix = "bpi-secret:v1:";

    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly SecretKeyRing _ring;

    /// <summary>Creates a protector over a key ring.</summary>
    /// <param name="ring">The keys.</param>
    public SecretProtector(SecretKeyRing ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        _ring = ring;
    }

    /// <summary>The key ring.</summary>
    public SecretKeyRing KeyRing => _ring;

    /// <inheritdoc />
    string ISecretSealer.Seal(string plaintext, string context) => Protect(plaintext, context);

    /// <inheritdoc />
    string ISecretSealer.Unseal(string sealedValue, string context) => Unprotect(sealedValue, context);

    /// <summary>Whether a value is an envelope of this format.</summary>
    /// <param name="value">The value.</param>
    /// <returns>Whether it starts with <see cref="Prefix"/>.</returns>
    public static bool IsProtected(string? value) => value is not null && value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Encrypts a value.</summary>
    /// <param name="plaintext">The secret value.</param>
    /// <param name="context">What the value is (bound as associated data), for example <c>shop-web/web/DB_PASSWORD</c>.</param>
    /// <returns>The envelope.</returns>
    public string Protect(string plaintext, string context)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        ArgumentNullException.ThrowIfNull(context);
        var (keyId, kek) = _ring.Active();
        var dek = RandomNumberGenerator.GetBytes(32);
        try
        {
            var value = Seal(dek, Encoding.UTF8.GetBytes(plaintext), Encoding.UTF8.GetBytes(context));
            var wrapped = Seal(kek, dek, Encoding.UTF8.GetBytes(keyId));
            return Prefix + keyId + ":" + Convert.ToBase64String(wrapped) + ":" + Convert.ToBase64String(value);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }

    /// <summary>Decrypts an envelope.</summary>
    /// <param name="envelope">The envelope.</param>
    /// <param name="context">The context it was protected with.</param>
    /// <returns>The secret value.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: malformed, tampered with, moved to another context, or its key is not in the ring.</exception>
    public string Unprotect(string envelope, string context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var (keyId, wrapped, value) = Split(envelope);
        var kek = _ring.Find(keyId) ?? throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"A secret was encrypted with key '{keyId}', which is not in the key ring; add that key back (it may have been retired too early).");
        byte[]? dek = null;
        try
        {
            dek = Open(kek, wrapped, Encoding.UTF8.GetBytes(keyId));
            return Encoding.UTF8.GetString(Open(dek, value, Encoding.UTF8.GetBytes(context)));
        }
        catch (CryptographicException ex)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"A secret of '{context}' does not decrypt: it was altered, or belongs to another variable. Set the secret again.", ex);
        }
        finally
        {
            if (dek is not null)
            {
                CryptographicOperations.ZeroMemory(dek);
            }
        }
    }

    /// <summary>Re-wraps an envelope's data key with the active key (after <see cref="SecretKeyRing.Rotate"/>); the value itself is not decrypted.</summary>
    /// <param name="envelope">The envelope.</param>
    /// <returns>The envelope under the active key (the same text when it already is).</returns>
    public string Rewrap(string envelope)
    {
        var (keyId, wrapped, value) = Split(envelope);
        var (activeId, activeKey) = _ring.Active();
        if (keyId == activeId)
        {
            return envelope;
        }

        var kek = _ring.Find(keyId) ?? throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"A secret was encrypted with key '{keyId}', which is not in the key ring.");
        var dek = Open(kek, wrapped, Encoding.UTF8.GetBytes(keyId));
        try
        {
            return Prefix + activeId + ":" + Convert.ToBase64String(Seal(activeKey, dek, Encoding.UTF8.GetBytes(activeId))) + ":" + Convert.ToBase64String(value);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dek);
        }
    }

    /// <summary>The id of the key an envelope's data key is wrapped with.</summary>
    /// <param name="envelope">The envelope.</param>
    /// <returns>The key id.</returns>
    public static string KeyIdOf(string envelope) => Split(envelope).KeyId;

    private static (string KeyId, byte[] Wrapped, byte[] Value) Split(string envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var parts = IsProtected(envelope) ? envelope[Prefix.Length..].Split(':') : [];
        try
        {
            if (parts.Length == 3)
            {
                return (parts[0], Convert.FromBase64String(parts[1]), Convert.FromBase64String(parts[2]));
            }
        }
        catch (FormatException)
        {
        }

        throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, "A protected secret is malformed; expected 'bpi-secret:v1:{keyId}:{wrapped key}:{value}'. Set the secret again.");
    }

    private static byte[] Seal(byte[] key, byte[] plaintext, byte[] associatedData)
    {
        var output = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length), associatedData);
        return output;
    }

    private static byte[] Open(byte[] key, byte[] sealedData, byte[] associatedData)
    {
        if (sealedData.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("The sealed data is too short.");
        }

        var length = sealedData.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(sealedData.AsSpan(0, NonceSize), sealedData.AsSpan(NonceSize, length), sealedData.AsSpan(NonceSize + length), plaintext, associatedData);
        return plaintext;
    }
}
