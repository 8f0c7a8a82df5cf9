using System.Security.Cryptography;

namespace Bpi.Orchestration.Security.Secrets;

/// <summary>
/// The key-encryption keys (AES-256) of envelope encryption, by id, with one active key. New values are wrapped with the
/// active key; every key in the ring can still unwrap what it wrapped, so rotation (<see cref="Rotate"/>, then
/// <see cref="SecretProtector.Rewrap"/> of stored values, then <see cref="Retire"/>) never makes a stored value unreadable.
/// Thread-safe.
/// </summary>
public sealed class SecretKeyRing : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);
    private string _activeKeyId;

    /// <summary>Creates a ring from existing keys.</summary>
    /// <param name="keys">The keys by id; each 32 bytes.</param>
    /// <param name="activeKeyId">The id of the key that wraps new values.</param>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: a key is not 32 bytes, an id is malformed, or the active id is missing.</exception>
    public SecretKeyRing(IReadOnlyDictionary<string, byte[]> keys, string activeKeyId)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var errors = new List<string>();
        foreach (var (id, key) in keys)
        {
            if (!IsValidId(id))
            {
                errors.Add($"key id '{id}' must be 1–64 letters, digits, '-' or '_'.");
            }

            if (key is null || key.Length != 32)
            {
                errors.Add($"key '{id}' is {key?.Length ?? 0} bytes; AES-256 keys are 32 bytes.");
            }
            else
            {
                _keys[id] = (byte[])key.Clone();
            }
        }

        if (!keys.ContainsKey(activeKeyId ?? ""))
        {
            errors.Add($"the active key id '{activeKeyId}' is not one of the keys ({string.Join(", ", keys.Keys)}).");
        }

        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration("The secret key ring", errors);
        }

        _activeKeyId = activeKeyId!;
    }

    /// <summary>The id of the key that wraps new values.</summary>
    public string ActiveKeyId
    {
        get
        {
            lock (_lock)
            {
                return _activeKeyId;
            }
        }
    }

    /// <summary>The ids of every key in the ring.</summary>
    public IReadOnlyList<string> KeyIds
    {
        get
        {
            lock (_lock)
            {
                return [.. _keys.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Creates a ring with one fresh random key.</summary>
    /// <param name="keyId">The key's id.</param>
    /// <returns>The ring.</returns>
    public static SecretKeyRing Generate(string keyId = "k1")
        => new(new Dictionary<string, byte[]>(StringComparer.Ordinal) { [keyId] = RandomNumberGenerator.GetBytes(32) }, keyId);

    /// <summary>Adds a fresh random key and makes it active; older keys stay for unwrapping.</summary>
    /// <param name="newKeyId">The new key's id.</param>
    /// <returns>The new key's bytes, for the host to store wherever it keeps keys.</returns>
    public byte[] Rotate(string newKeyId)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        Add(newKeyId, key, makeActive: true);
        return (byte[])key.Clone();
    }

    /// <summary>Adds a key.</summary>
    /// <param name="keyId">The key's id.</param>
    /// <param name="key">The 32-byte key.</param>
    /// <param name="makeActive">Whether new values are wrapped with it from now on.</param>
    public void Add(string keyId, byte[] key, bool makeActive)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!IsValidId(keyId) || key.Length != 32)
        {
            throw OrchestrationException.InvalidConfiguration("The secret key ring", [$"key '{keyId}' must have an id of 1–64 letters, digits, '-' or '_' and 32 bytes."]);
        }

        lock (_lock)
        {
            if (_keys.ContainsKey(keyId))
            {
                throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"The key ring already holds a key '{keyId}'; pick a new id.");
            }

            _keys[keyId] = (byte[])key.Clone();
            if (makeActive)
            {
                _activeKeyId = keyId;
            }
        }
    }

    /// <summary>Removes a key that no stored value needs any more (after re-wrapping them). The active key cannot be retired.</summary>
    /// <param name="keyId">The key's id.</param>
    public void Retire(string keyId)
    {
        lock (_lock)
        {
            if (keyId == _activeKeyId)
            {
                throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"Key '{keyId}' is the active key; rotate to a new key before retiring it.");
            }

            if (_keys.Remove(keyId, out var key))
            {
                CryptographicOperations.ZeroMemory(key);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var key in _keys.Values)
            {
                CryptographicOperations.ZeroMemory(key);
            }

            _keys.Clear();
        }
    }

    internal (string Id, byte[] Key) Active()
    {
        lock (_lock)
        {
            return (_activeKeyId, _keys[_activeKeyId]);
        }
    }

    internal byte[]? Find(string keyId)
    {
        lock (_lock)
        {
            return _keys.TryGetValue(keyId, out var key) ? key : null;
        }
    }

    private static bool IsValidId(string? id)
        => !string.IsNullOrEmpty(id) && id.Length <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
