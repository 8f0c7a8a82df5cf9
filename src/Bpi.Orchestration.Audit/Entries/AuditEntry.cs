using System.Text;

namespace Bpi.Orchestration.Audit;

/// <summary>One stored entry of the audit log, as decoded from its canonical encoding.</summary>
public sealed class AuditEntry
{
    internal AuditEntry(
        long sequence,
        DateTimeOffset timestamp,
        string actor,
        string action,
        string target,
        string outcome,
        ReadOnlyMemory<byte> payload,
        AuditHash previousHash,
        AuditHash hash)
    {
        Sequence = sequence;
        Timestamp = timestamp;
        Actor = actor;
        Action = action;
        Target = target;
        Outcome = outcome;
        Payload = payload;
        PreviousHash = previousHash;
        Hash = hash;
    }

    /// <summary>The entry's position in the log, from 0; also its Merkle leaf index.</summary>
    public long Sequence { get; }

    /// <summary>When it happened (UTC, 100-nanosecond precision).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>The acting identity.</summary>
    public string Actor { get; }

    /// <summary>What was done.</summary>
    public string Action { get; }

    /// <summary>What it was done to.</summary>
    public string Target { get; }

    /// <summary>How it ended.</summary>
    public string Outcome { get; }

    /// <summary>The UTF-8 JSON payload exactly as stored; empty when there is none.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The <see cref="Hash"/> of the previous entry; <see cref="AuditHash.Zero"/> for entry 0.</summary>
    public AuditHash PreviousHash { get; }

    /// <summary>The entry's leaf hash, <c>SHA-256(0x00 ‖ canonical encoding)</c>; the next entry chains to it.</summary>
    public AuditHash Hash { get; }

    /// <summary>The payload as a string (empty when there is none).</summary>
    /// <returns>The JSON text.</returns>
    public string GetPayloadJson() => Encoding.UTF8.GetString(Payload.Span);
}
