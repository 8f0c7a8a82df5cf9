namespace Bpi.Orchestration.Security.Images;

/// <summary>Whether an image's signature was verified.</summary>
public enum ImageVerificationStatus
{
    /// <summary>A signature by a trusted key over a payload naming the image's digest was found and verified.</summary>
    Verified = 0,

    /// <summary>No signature was found for the image.</summary>
    Missing,

    /// <summary>Signatures were found, but none verifies against a trusted key for this digest.</summary>
    Invalid,

    /// <summary>The image is not pinned by digest, so there is nothing a signature could be bound to.</summary>
    NotPinned,
}

/// <summary>The outcome of verifying one image.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="Detail">What was found, in a sentence (which key verified, or why none did).</param>
public sealed record ImageVerificationResult(ImageVerificationStatus Status, string Detail);
