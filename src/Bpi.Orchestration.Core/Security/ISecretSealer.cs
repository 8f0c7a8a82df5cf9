namespace Bpi.Orchestration.Security;

/// <summary>
/// Seals a secret for storage at rest and opens it again (authenticated encryption bound to a context string). The
/// Security package implements it with its AES-256-GCM key ring (<c>AddSecretProtection</c>); the EncCluster component
/// manager seals its certificate authority's private key with it.
/// </summary>
public interface ISecretSealer
{
    /// <summary>Encrypts <paramref name="plaintext"/> bound to <paramref name="context"/>.</summary>
    /// <param name="plaintext">The secret.</param>
    /// <param name="context">What the secret belongs to; opening it needs the same context.</param>
    /// <returns>The sealed value, safe to store.</returns>
    string Seal(string plaintext, string context);

    /// <summary>Opens a value sealed by <see cref="Seal"/> with the same <paramref name="context"/>.</summary>
    /// <param name="sealedValue">The sealed value.</param>
    /// <param name="context">The context it was sealed with.</param>
    /// <returns>The secret.</returns>
    /// <exception cref="OrchestrationException">The value was tampered with, sealed for another context or under a key that is not known.</exception>
    string Unseal(string sealedValue, string context);
}
