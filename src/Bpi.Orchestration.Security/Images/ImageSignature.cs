namespace Bpi.Orchestration.Security.Images;

/// <summary>
/// One cosign-style signature of an image: the simple-signing JSON payload
/// (<c>application/vnd.dev.cosign.simplesigning.v1+json</c>) and the signature over it.
/// </summary>
/// <param name="Payload">The payload bytes exactly as signed.</param>
/// <param name="Signature">The ECDSA P-256 / SHA-256 signature over <paramref name="Payload"/>, DER-encoded (cosign's format; base64-decode cosign's text first).</param>
public sealed record ImageSignature(ReadOnlyMemory<byte> Payload, ReadOnlyMemory<byte> Signature);

/// <summary>Finds the signatures of an image, for example from a registry's <c>sha256-….sig</c> tags or a local store.</summary>
public interface IImageSignatureSource
{
    /// <summary>Returns the signatures stored for an image digest.</summary>
    /// <param name="image">The image, pinned by digest.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The signatures; empty when there are none.</returns>
    ValueTask<IReadOnlyList<ImageSignature>> GetSignaturesAsync(ImageReference image, CancellationToken cancellationToken = default);
}

/// <summary>An <see cref="IImageSignatureSource"/> that holds signatures in memory, by digest (for tests and for hosts that fetch signatures themselves).</summary>
public sealed class InMemoryImageSignatureSource : IImageSignatureSource
{
    private readonly Dictionary<string, List<ImageSignature>> _byDigest = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Stores a signature for a digest.</summary>
    /// <param name="digest">The image digest, <c>sha256:…</c>.</param>
    /// <param name="signature">The signature.</param>
    public void Add(string digest, ImageSignature signature)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(digest);
        ArgumentNullException.ThrowIfNull(signature);
        lock (_lock)
        {
            if (!_byDigest.TryGetValue(digest.ToLowerInvariant(), out var list))
            {
                _byDigest[digest.ToLowerInvariant()] = list = [];
            }

            list.Add(signature);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ImageSignature>> GetSignaturesAsync(ImageReference image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        lock (_lock)
        {
            return ValueTask.FromResult<IReadOnlyList<ImageSignature>>(image.Digest is not null && _byDigest.TryGetValue(image.Digest, out var list) ? [.. list] : []);
        }
    }
}
