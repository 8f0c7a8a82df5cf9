namespace Bpi.Orchestration.Audit;

/// <summary>
/// What a caller appends: who did what to which target, and how it ended. The store assigns the sequence number and
/// the previous entry's hash; it sets the timestamp from its <see cref="TimeProvider"/> unless one is given.
/// </summary>
public sealed class NewAuditEntry
{
    /// <summary>The acting identity, for example a user name, a CI job id or <c>system</c>. Must not be empty.</summary>
    public required string Actor { get; init; }

    /// <summary>What was done, lowercase and dotted, for example <c>deployment.create</c>. Must not be empty.</summary>
    public required string Action { get; init; }

    /// <summary>What it was done to, usually a deployment id; may be empty.</summary>
    public required string Target { get; init; }

    /// <summary>How it ended, for example <c>succeeded</c>, <c>failed</c> or <c>denied</c>. Must not be empty.</summary>
    public required string Outcome { get; init; }

    /// <summary>
    /// Further detail as UTF-8 JSON (any JSON value), or empty for none. The bytes are stored and hashed exactly as
    /// given, so produce them deterministically (for example with sorted keys) if others must reproduce them.
    /// </summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>When it happened; <see langword="null"/> takes the store's clock at the time of the append.</summary>
    public DateTimeOffset? Timestamp { get; init; }
}
