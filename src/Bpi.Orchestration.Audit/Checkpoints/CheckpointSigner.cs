using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// An ECDSA P-256 key that signs checkpoints as C2SP signed notes (signature type <c>0x02</c>: the key id is the first
/// four bytes of SHA-256 over the DER SubjectPublicKeyInfo; the signature is ASN.1 DER over SHA-256 of the note text).
/// Give third parties <see cref="VerifierKey"/>; keep the private key (<see cref="ExportPrivateKeyPem"/>) secret.
/// The same key signs orchestrator backups (<see cref="Bpi.Orchestration.Backup.IBackupManifestSigner"/>: ECDSA P-256
/// over SHA-256 of the manifest, prefixed with the key id), so <see cref="CheckpointVerifier"/> with the public key
/// checks them.
/// </summary>
public sealed class CheckpointSigner : IDisposable, Bpi.Orchestration.Backup.IBackupManifestSigner
{
    internal const byte SignatureType = 0x02;

    /// <summary>The algorithm name of backup signatures made with a checkpoint key.</summary>
    internal const string BackupAlgorithm = "ecdsa-p256-sha256";
    private readonly ECDsa _key;

    private CheckpointSigner(string keyName, ECDsa key)
    {
        _key = key;
        KeyName = keyName;
        PublicKeyInfo = key.ExportSubjectPublicKeyInfo();
        KeyId = ComputeKeyId(PublicKeyInfo);
        VerifierKey = FormatVerifierKey(keyName, KeyId, PublicKeyInfo);
    }

    /// <summary>The key name in signature lines, for example <c>example.com/audit-2025</c>.</summary>
    public string KeyName { get; }

    /// <summary>The 32-bit key id that prefixes every signature.</summary>
    public uint KeyId { get; }

    /// <summary>
    /// The public verifier key as text, <c>name+keyid+base64(0x02 ‖ DER SubjectPublicKeyInfo)</c>: all a third party
    /// needs to verify checkpoints and exports (pass it to <see cref="CheckpointVerifier"/>).
    /// </summary>
    public string VerifierKey { get; }

    internal byte[] PublicKeyInfo { get; }

    /// <summary>Creates a signer with a new random P-256 key.</summary>
    /// <param name="keyName">The key name: non-empty, without spaces or '+'; a schema-less URL is recommended.</param>
    /// <returns>The signer.</returns>
    public static CheckpointSigner Generate(string keyName)
    {
        ValidateKeyName(keyName);
        return new CheckpointSigner(keyName, ECDsa.Create(ECCurve.NamedCurves.nistP256));
    }

    /// <summary>Creates a signer from a private P-256 key; the key is copied, so the caller keeps ownership of <paramref name="privateKey"/>.</summary>
    /// <param name="keyName">The key name: non-empty, without spaces or '+'.</param>
    /// <param name="privateKey">An ECDSA key on NIST P-256 with its private part.</param>
    /// <returns>The signer.</returns>
    public static CheckpointSigner Create(string keyName, ECDsa privateKey)
    {
        ValidateKeyName(keyName);
        ArgumentNullException.ThrowIfNull(privateKey);
        ECParameters parameters;
        try
        {
            parameters = privateKey.ExportParameters(includePrivateParameters: true);
        }
        catch (CryptographicException ex)
        {
            throw new ArgumentException("The key has no exportable private part; pass the private ECDSA P-256 key that signs checkpoints.", nameof(privateKey), ex);
        }

        if (parameters.Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
        {
            throw new ArgumentException("Checkpoint keys must be on NIST P-256 (secp256r1).", nameof(privateKey));
        }

        return new CheckpointSigner(keyName, ECDsa.Create(parameters));
    }

    /// <summary>Creates a signer from a PEM private key (PKCS#8 or SEC1 <c>EC PRIVATE KEY</c>) on P-256.</summary>
    /// <param name="keyName">The key name: non-empty, without spaces or '+'.</param>
    /// <param name="privateKeyPem">The PEM text.</param>
    /// <returns>The signer.</returns>
    public static CheckpointSigner FromPem(string keyName, string privateKeyPem)
    {
        ArgumentNullException.ThrowIfNull(privateKeyPem);
        using var key = ECDsa.Create();
        key.ImportFromPem(privateKeyPem);
        return Create(keyName, key);
    }

    /// <summary>Exports the private key as PKCS#8 PEM, to store in a secret store.</summary>
    /// <returns>The PEM text.</returns>
    public string ExportPrivateKeyPem() => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>Releases the key.</summary>
    public void Dispose() => _key.Dispose();

    /// <inheritdoc />
    string Bpi.Orchestration.Backup.IBackupManifestSigner.Algorithm => BackupAlgorithm;

    /// <inheritdoc />
    byte[] Bpi.Orchestration.Backup.IBackupManifestSigner.SignManifest(ReadOnlySpan<byte> manifest) => Sign(manifest);

    internal string SignatureLine(ReadOnlySpan<byte> noteText) => $"\u2014 {KeyName} {Convert.ToBase64String(Sign(noteText))}\n";

    /// <summary>The key id (4 bytes, big-endian) followed by the ASN.1 DER ECDSA signature over SHA-256 of <paramref name="data"/>.</summary>
    private byte[] Sign(ReadOnlySpan<byte> data)
    {
        var signature = _key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var blob = new byte[4 + signature.Length];
        BinaryPrimitives.WriteUInt32BigEndian(blob, KeyId);
        signature.CopyTo(blob, 4);
        return blob;
    }

    internal static uint ComputeKeyId(ReadOnlySpan<byte> subjectPublicKeyInfo) =>
        BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(subjectPublicKeyInfo));

    internal static string FormatVerifierKey(string keyName, uint keyId, byte[] subjectPublicKeyInfo)
    {
        var blob = new byte[1 + subjectPublicKeyInfo.Length];
        blob[0] = SignatureType;
        subjectPublicKeyInfo.CopyTo(blob, 1);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{keyName}+{keyId:x8}+{Convert.ToBase64String(blob)}");
    }

    internal static void ValidateKeyName(string keyName)
    {
        ArgumentNullException.ThrowIfNull(keyName);
        if (!IsValidKeyName(keyName))
        {
            throw new ArgumentException($"The key name '{keyName}' is not valid: it must be non-empty, without spaces, '+' or control characters (for example 'example.com/audit').", nameof(keyName));
        }
    }

    internal static bool IsValidKeyName(string keyName) =>
        keyName.Length > 0 && !keyName.Any(c => c == '+' || char.IsWhiteSpace(c) || char.IsControl(c)) && Encoding.UTF8.GetByteCount(keyName) <= 256;
}
