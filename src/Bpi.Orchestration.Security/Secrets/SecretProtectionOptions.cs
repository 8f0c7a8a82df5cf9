namespace Bpi.Orchestration.Security.Secrets;

/// <summary>The key-encryption keys secrets are sealed with at rest.</summary>
public sealed class SecretProtectionOptions
{
    /// <summary>The keys by id, each 32 random bytes in base64 (for example from a KMS or a file only the service can read).</summary>
    public IDictionary<string, string> Keys { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The id of the key that seals new values; the others only open what they sealed (keep them until re-wrapped).</summary>
    public string? ActiveKeyId { get; set; }

    /// <summary>Builds the key ring, listing every problem.</summary>
    /// <returns>The ring.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: no keys, a key that is not base64 of 32 bytes, or no active key.</exception>
    public SecretKeyRing BuildKeyRing()
    {
        var errors = new List<string>();
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (Keys.Count == 0)
        {
            errors.Add("Keys is empty; add at least one key (32 random bytes in base64).");
        }

        foreach (var (id, text) in Keys)
        {
            try
            {
                keys[id] = Convert.FromBase64String(text ?? "");
            }
            catch (FormatException)
            {
                errors.Add($"Keys['{id}'] is not base64.");
            }
        }

        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration("Secret protection options", errors);
        }

        return new SecretKeyRing(keys, ActiveKeyId ?? (Keys.Count == 1 ? Keys.Keys.Single() : ""));
    }
}
