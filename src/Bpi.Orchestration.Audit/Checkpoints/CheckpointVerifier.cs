using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// Verifies signed checkpoints with public keys only. Follows C2SP signed-note: signatures from unknown keys are
/// ignored (so a note signed by both an old and a new key verifies with either — key rotation), a failing signature from
/// a known key rejects the note, and at least one known key must have signed. It also checks the signatures of
/// orchestrator backups made with a <see cref="CheckpointSigner"/> (<see cref="Bpi.Orchestration.Backup.IBackupSignatureVerifier"/>).
/// </summary>
public sealed class CheckpointVerifier : Bpi.Orchestration.Backup.IBackupSignatureVerifier
{
    private readonly Dictionary<(string Name, uint Id), ECDsa> _keys = [];

    /// <summary>Creates a verifier that trusts the given keys.</summary>
    /// <param name="verifierKeys">One or more <see cref="CheckpointSigner.VerifierKey"/> texts (<c>name+keyid+base64</c>).</param>
    /// <param name="expectedOrigin">When set, only checkpoints of this origin verify.</param>
    /// <exception cref="ArgumentException">A key is malformed; the message says which and why.</exception>
    public CheckpointVerifier(IEnumerable<string> verifierKeys, string? expectedOrigin = null)
    {
        ArgumentNullException.ThrowIfNull(verifierKeys);
        var errors = new List<string>();
        foreach (var text in verifierKeys)
        {
            var parsed = ParseVerifierKey(text, out var error);
            if (parsed is null)
            {
                errors.Add(error!);
                continue;
            }

            _keys[(parsed.Value.Name, parsed.Value.Id)] = parsed.Value.Key;
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Some verifier keys are invalid:" + string.Concat(errors.Select(e => Environment.NewLine + "  - " + e)), nameof(verifierKeys));
        }

        if (_keys.Count == 0)
        {
            throw new ArgumentException("Give at least one verifier key (CheckpointSigner.VerifierKey of the log's signer).", nameof(verifierKeys));
        }

        ExpectedOrigin = expectedOrigin;
    }

    /// <summary>The origin every verified checkpoint must carry, or <see langword="null"/> to accept any.</summary>
    public string? ExpectedOrigin { get; }

    /// <summary>The trusted keys, as <c>name+keyid</c>.</summary>
    public IReadOnlyList<string> TrustedKeys => [.. _keys.Keys.Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Name}+{k.Id:x8}"))];

    /// <summary>Parses a signed checkpoint and checks its signatures.</summary>
    /// <param name="signedNote">The checkpoint as a signed note.</param>
    /// <param name="checkpoint">The checkpoint when it verifies.</param>
    /// <param name="error">Why it does not verify.</param>
    /// <returns><see langword="true"/> when a trusted key signed it and no trusted key's signature fails.</returns>
    public bool TryVerify(string signedNote, [NotNullWhen(true)] out SignedCheckpoint? checkpoint, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(signedNote);
        checkpoint = null;
        var parsed = SignedCheckpoint.Parse(signedNote, out var parseError);
        if (parsed is null)
        {
            error = $"The checkpoint is malformed: {parseError}.";
            return false;
        }

        if (ExpectedOrigin is not null && !string.Equals(parsed.Origin, ExpectedOrigin, StringComparison.Ordinal))
        {
            error = $"The checkpoint is for origin '{parsed.Origin}', not the expected '{ExpectedOrigin}'.";
            return false;
        }

        var text = Encoding.UTF8.GetBytes(parsed.Text.ToString());
        var verified = 0;
        foreach (var signature in parsed.Signatures)
        {
            if (!_keys.TryGetValue((signature.KeyName, signature.KeyId), out var key))
            {
                continue;
            }

            if (!key.VerifyData(text, signature.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
            {
                error = string.Create(CultureInfo.InvariantCulture, $"The signature of trusted key '{signature.KeyName}+{signature.KeyId:x8}' does not verify: the checkpoint was altered after signing.");
                return false;
            }

            verified++;
        }

        if (verified == 0)
        {
            error = $"No trusted key signed the checkpoint (it is signed by {string.Join(", ", parsed.SignatureKeys)}; trusted: {string.Join(", ", TrustedKeys)}). Add the log's current verifier key.";
            return false;
        }

        checkpoint = parsed;
        error = null;
        return true;
    }

    /// <inheritdoc />
    bool Bpi.Orchestration.Backup.IBackupSignatureVerifier.TryVerifyManifest(string algorithm, string keyName, ReadOnlySpan<byte> manifest, ReadOnlySpan<byte> signature, out string? error)
    {
        if (algorithm != CheckpointSigner.BackupAlgorithm || signature.Length < 4)
        {
            error = $"it is signed with {algorithm}, not with an audit checkpoint key ({CheckpointSigner.BackupAlgorithm})";
            return false;
        }

        var keyId = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(signature);
        if (!_keys.TryGetValue((keyName, keyId), out var key))
        {
            error = string.Create(CultureInfo.InvariantCulture, $"it is signed by key '{keyName}+{keyId:x8}', which is not trusted (trusted: {string.Join(", ", TrustedKeys)})");
            return false;
        }

        if (!key.VerifyData(manifest, signature[4..], HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))
        {
            error = string.Create(CultureInfo.InvariantCulture, $"the signature of trusted key '{keyName}+{keyId:x8}' does not match the manifest: the manifest was changed after it was signed");
            return false;
        }

        error = null;
        return true;
    }

    private static (string Name, uint Id, ECDsa Key)? ParseVerifierKey(string? text, out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "a verifier key is empty";
            return null;
        }

        var first = text.IndexOf('+', StringComparison.Ordinal);
        var second = first < 0 ? -1 : text.IndexOf('+', first + 1);
        if (first <= 0 || second < 0)
        {
            error = $"'{text}' is not '<name>+<hex key id>+<base64 key>'";
            return null;
        }

        var name = text[..first];
        var idText = text[(first + 1)..second];
        if (!CheckpointSigner.IsValidKeyName(name) || idText.Length != 8
            || !uint.TryParse(idText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id))
        {
            error = $"'{text}' has an invalid key name or a key id that is not 8 hex digits";
            return null;
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(text[(second + 1)..]);
        }
        catch (FormatException)
        {
            error = $"the key part of '{name}' is not base64";
            return null;
        }

        if (blob.Length < 2 || blob[0] != CheckpointSigner.SignatureType)
        {
            error = $"the key '{name}' is not an ECDSA key (signature type 0x02); only ECDSA P-256 keys are supported";
            return null;
        }

        var spki = blob[1..];
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read != spki.Length || key.ExportParameters(false).Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new CryptographicException("not a P-256 public key");
            }
        }
        catch (CryptographicException)
        {
            key.Dispose();
            error = $"the key '{name}' is not a DER-encoded P-256 public key";
            return null;
        }

        if (CheckpointSigner.ComputeKeyId(spki) != id)
        {
            key.Dispose();
            error = $"the key id {idText} of '{name}' does not match its public key";
            return null;
        }

        return (name, id, key);
    }
}
