using System.Security.Cryptography;
using System.Text.Json;

namespace Bpi.Orchestration.Security.Images;

/// <summary>
/// Verifies cosign-style image signatures: an ECDSA P-256 / SHA-256 signature over a simple-signing JSON payload whose
/// <c>critical.type</c> is <c>cosign container image signature</c> and whose <c>critical.image.docker-manifest-digest</c>
/// equals the image's digest (so that a valid signature for one image cannot be replayed for another). The
/// <c>docker-reference</c> is ignored, as cosign does.
/// </summary>
public sealed class CosignSignatureVerifier : IDisposable
{
    /// <summary>The <c>critical.type</c> a cosign payload must carry.</summary>
    public const string PayloadType = "cosign container image signature";

    private readonly List<(ECDsa Key, string Fingerprint)> _keys = [];

    /// <summary>Creates a verifier trusting PEM-encoded public keys.</summary>
    /// <param name="publicKeysPem">The trusted keys, each a PEM <c>PUBLIC KEY</c> of an ECDSA P-256 key (as in <c>cosign.pub</c>).</param>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: a key is not an ECDSA P-256 public key.</exception>
    public CosignSignatureVerifier(IEnumerable<string> publicKeysPem)
    {
        ArgumentNullException.ThrowIfNull(publicKeysPem);
        var errors = new List<string>();
        var index = 0;
        foreach (var pem in publicKeysPem)
        {
            if (TryImportKey(pem, out var key, out var error))
            {
                _keys.Add((key, Fingerprint(key)));
            }
            else
            {
                errors.Add($"trusted signing key #{index}: {error}");
            }

            index++;
        }

        if (errors.Count > 0)
        {
            foreach (var (key, _) in _keys)
            {
                key.Dispose();
            }

            throw OrchestrationException.InvalidConfiguration("The trusted image signing keys", errors);
        }
    }

    /// <summary>How many keys are trusted.</summary>
    public int KeyCount => _keys.Count;

    /// <summary>Checks that a PEM text is an ECDSA P-256 public key.</summary>
    /// <param name="pem">The PEM text.</param>
    /// <param name="error">Why it is not, or <see langword="null"/>.</param>
    /// <returns>Whether it is one.</returns>
    public static bool IsValidPublicKey(string pem, out string? error)
    {
        if (TryImportKey(pem, out var key, out error))
        {
            key.Dispose();
            return true;
        }

        return false;
    }

    /// <summary>Verifies the signatures of an image.</summary>
    /// <param name="image">The image; it must be pinned by digest.</param>
    /// <param name="signatures">The signatures found for it.</param>
    /// <returns><see cref="ImageVerificationStatus.Verified"/> when one signature by a trusted key binds the image's digest.</returns>
    public ImageVerificationResult Verify(ImageReference image, IEnumerable<ImageSignature> signatures)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(signatures);
        if (image.Digest is null)
        {
            return new(ImageVerificationStatus.NotPinned, $"'{image}' is not pinned by digest, so no signature can be bound to it");
        }

        var seen = 0;
        string? problem = null;
        foreach (var signature in signatures)
        {
            seen++;
            foreach (var (key, fingerprint) in _keys)
            {
                if (!VerifyBytes(key, signature.Payload.Span, signature.Signature.Span))
                {
                    continue;
                }

                var (type, digest) = ReadPayload(signature.Payload);
                if (!string.Equals(type, PayloadType, StringComparison.Ordinal))
                {
                    problem = $"a signature by key {fingerprint} has payload type '{type}', not '{PayloadType}'";
                }
                else if (!string.Equals(digest, image.Digest, StringComparison.OrdinalIgnoreCase))
                {
                    problem = $"a signature by key {fingerprint} is for {digest ?? "no digest"}, not {image.Digest}";
                }
                else
                {
                    return new(ImageVerificationStatus.Verified, $"{image.Digest} is signed by trusted key {fingerprint}");
                }
            }
        }

        return seen == 0
            ? new(ImageVerificationStatus.Missing, $"no signature was found for {image.Name}@{image.Digest}")
            : new(ImageVerificationStatus.Invalid, problem ?? $"none of {seen} signature(s) of {image.Digest} verifies against a trusted key");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (key, _) in _keys)
        {
            key.Dispose();
        }

        _keys.Clear();
    }

    private static bool VerifyBytes(ECDsa key, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature)
    {
        try
        {
            return key.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)
                || (signature.Length == 64 && key.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static (string? Type, string? Digest) ReadPayload(ReadOnlyMemory<byte> payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            if (!document.RootElement.TryGetProperty("critical", out var critical) || critical.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            var type = critical.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            var digest = critical.TryGetProperty("image", out var image) && image.ValueKind == JsonValueKind.Object
                && image.TryGetProperty("docker-manifest-digest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            return (type, digest);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    private static bool TryImportKey(string pem, out ECDsa key, out string? error)
    {
        key = ECDsa.Create();
        error = null;
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256)
            {
                error = $"the key is {key.KeySize}-bit; cosign keys are ECDSA P-256";
                key.Dispose();
                return false;
            }

            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            error = "not a PEM-encoded ECDSA public key (" + ex.Message + ")";
            key.Dispose();
            return false;
        }
    }

    private static string Fingerprint(ECDsa key)
        => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];
}
