namespace Bpi.Orchestration.Audit;

/// <summary>What an append returns once the entry is durable.</summary>
/// <param name="Sequence">The entry's sequence number (its Merkle leaf index).</param>
/// <param name="Timestamp">The entry's timestamp as stored.</param>
/// <param name="Hash">The entry's leaf hash; keep it to ask for an inclusion proof later.</param>
public readonly record struct AuditAppendReceipt(long Sequence, DateTimeOffset Timestamp, AuditHash Hash);
