using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Backup;

/// <summary>
/// Signs a backup's manifest (its exact bytes): the manifest holds every part's SHA-256, so the signature covers the
/// whole backup. The Audit package's <c>CheckpointSigner</c> is one (ECDSA P-256 with the key that signs the audit
/// checkpoints); <see cref="HmacBackupKey"/> is a shared secret.
/// </summary>
public interface IBackupManifestSigner
{
    /// <summary>The signature algorithm, written next to the signature (<c>hmac-sha256</c>, <c>ecdsa-p256-sha256</c>).</summary>
    string Algorithm { get; }

    /// <summary>The name of the key, written next to the signature so a restore finds the key that checks it.</summary>
    string KeyName { get; }

    /// <summary>Signs <paramref name="manifest"/>.</summary>
    /// <param name="manifest">The manifest's bytes.</param>
    /// <returns>The signature.</returns>
    byte[] SignManifest(ReadOnlySpan<byte> manifest);
}

/// <summary>Checks the signature of a backup's manifest with trusted key(s).</summary>
public interface IBackupSignatureVerifier
{
    /// <summary>Checks <paramref name="signature"/> over <paramref name="manifest"/>.</summary>
    /// <param name="algorithm">The algorithm the backup names.</param>
    /// <param name="keyName">The key name the backup names.</param>
    /// <param name="manifest">The manifest's bytes.</param>
    /// <param name="signature">The signature.</param>
    /// <param name="error">Why it does not verify (an unknown key, a wrong signature), when it does not.</param>
    /// <returns><see langword="true"/> when a trusted key made the signature.</returns>
    bool TryVerifyManifest(string algorithm, string keyName, ReadOnlySpan<byte> manifest, ReadOnlySpan<byte> signature, out string? error);
}

/// <summary>
/// A shared secret (HMAC-SHA256, at least 32 bytes) that signs backups and checks them: keep it apart from the backups
/// (a secret store), or anyone who can rewrite a backup can re-sign it.
/// </summary>
public sealed class HmacBackupKey : IBackupManifestSigner, IBackupSignatureVerifier
{
    /// <summary>The fewest key bytes accepted.</summary>
    public const int MinKeyBytes = 32;

    /// <summary>The algorithm name in backups.</summary>
    public const string AlgorithmName = "hmac-sha256";

    private readonly byte[] _key;

    /// <summary>Creates the key.</summary>
    /// <param name="keyName">The key's name, written in backups (letters, digits, '-', '.', '_', '/').</param>
    /// <param name="key">The secret, at least <see cref="MinKeyBytes"/> bytes (copied).</param>
    /// <exception cref="ArgumentException">The name or the key is invalid.</exception>
    public HmacBackupKey(string keyName, ReadOnlySpan<byte> key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyName);
        if (keyName.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '/')))
        {
            throw new ArgumentException($"The backup key name '{keyName}' is invalid; use letters, digits, '-', '.', '_' and '/'.", nameof(keyName));
        }

        if (key.Length < MinKeyBytes)
        {
            throw new ArgumentException($"The backup HMAC key has {key.Length} bytes; give at least {MinKeyBytes} random bytes (for example `openssl rand -base64 32`).", nameof(key));
        }

        KeyName = keyName;
        _key = key.ToArray();
    }

    /// <inheritdoc />
    public string Algorithm => AlgorithmName;

    /// <inheritdoc />
    public string KeyName { get; }

    /// <summary>Creates the key from base64 text (what <c>openssl rand -base64 32</c> prints).</summary>
    /// <param name="keyName">The key's name.</param>
    /// <param name="base64Key">The secret as base64, at least <see cref="MinKeyBytes"/> bytes once decoded.</param>
    /// <returns>The key.</returns>
    /// <exception cref="ArgumentException">The text is not base64, or the key is too short.</exception>
    public static HmacBackupKey FromBase64(string keyName, string base64Key)
    {
        ArgumentNullException.ThrowIfNull(base64Key);
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64Key.Trim());
        }
        catch (FormatException ex)
        {
            throw new ArgumentException("The backup HMAC key is not base64 text; give the output of `openssl rand -base64 32`.", nameof(base64Key), ex);
        }

        return new HmacBackupKey(keyName, key);
    }

    /// <inheritdoc />
    public byte[] SignManifest(ReadOnlySpan<byte> manifest) => HMACSHA256.HashData(_key, manifest);

    /// <inheritdoc />
    public bool TryVerifyManifest(string algorithm, string keyName, ReadOnlySpan<byte> manifest, ReadOnlySpan<byte> signature, out string? error)
    {
        if (algorithm != AlgorithmName || keyName != KeyName)
        {
            error = $"it is signed with {algorithm} key '{keyName}', not with the trusted {AlgorithmName} key '{KeyName}'";
            return false;
        }

        if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_key, manifest), signature))
        {
            error = $"the {AlgorithmName} signature of key '{KeyName}' does not match the manifest: the manifest was changed after it was signed, or the key differs";
            return false;
        }

        error = null;
        return true;
    }
}

/// <summary>How backups are signed and which signatures a restore trusts.</summary>
public sealed class OrchestrationBackupOptions
{
    /// <summary>Signs every backup written (<see cref="HmacBackupKey"/>, or the Audit package's <c>CheckpointSigner</c>); a backup without it is refused unless <see cref="AllowUnsigned"/>.</summary>
    public IBackupManifestSigner? Signer { get; set; }

    /// <summary>
    /// The trusted keys a restore checks signatures with (an <see cref="HmacBackupKey"/>, or the Audit package's
    /// <c>CheckpointVerifier</c> with the public key). When empty, a <see cref="Signer"/> that can also verify (an
    /// <see cref="HmacBackupKey"/>) is used.
    /// </summary>
    public IList<IBackupSignatureVerifier> Verifiers { get; } = [];

    /// <summary>
    /// Writes unsigned backups without a <see cref="Signer"/>, and restores backups that carry no signature (a signature
    /// that does not verify is refused even so). Anyone who can write the file can then rewrite the state it restores:
    /// use it only for backups that never leave a trusted place.
    /// </summary>
    public bool AllowUnsigned { get; set; }

    /// <summary>The verifiers a restore uses: <see cref="Verifiers"/>, or the signer when it verifies too.</summary>
    internal IReadOnlyList<IBackupSignatureVerifier> EffectiveVerifiers =>
        Verifiers.Count > 0 ? [.. Verifiers] : Signer is IBackupSignatureVerifier verifier ? [verifier] : [];
}

/// <summary>Lists every problem of <see cref="OrchestrationBackupOptions"/>.</summary>
internal sealed class OrchestrationBackupOptionsValidator : IValidateOptions<OrchestrationBackupOptions>
{
    public ValidateOptionsResult Validate(string? name, OrchestrationBackupOptions options)
    {
        var errors = new List<string>();
        if (options.Signer is null && options.Verifiers.Count == 0 && !options.AllowUnsigned)
        {
            errors.Add($"{nameof(OrchestrationBackupOptions)}.{nameof(OrchestrationBackupOptions.Signer)}: no key signs the backups or checks them; set an {nameof(HmacBackupKey)} (or the Audit package's CheckpointSigner), add the trusted key to {nameof(OrchestrationBackupOptions.Verifiers)} on a host that only restores, or set {nameof(OrchestrationBackupOptions.AllowUnsigned)} = true to accept backups that anyone who can write the file could rewrite.");
        }

        if (options.Verifiers.Any(v => v is null))
        {
            errors.Add($"{nameof(OrchestrationBackupOptions)}.{nameof(OrchestrationBackupOptions.Verifiers)}: an entry is null; remove it.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
