using System.Text.Json;
using Bpi.Orchestration.Auditing;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// Adapts Core's <see cref="IAuditSink"/> port to an <see cref="IAuditStore"/>: Actor, Action, Target, Outcome and
/// Timestamp map to the entry's fields, and <see cref="AuditEvent.Data"/> becomes a JSON object with its keys in
/// ordinal order (so the payload bytes, and the hash, are reproducible).
/// </summary>
internal sealed class AuditSinkAdapter(IAuditStore store) : IAuditSink
{
    public async ValueTask AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        await store.AppendAsync(ToEntry(auditEvent), cancellationToken).ConfigureAwait(false);
    }

    internal static NewAuditEntry ToEntry(AuditEvent auditEvent) => new()
    {
        Timestamp = auditEvent.Timestamp,
        Actor = auditEvent.Actor,
        Action = auditEvent.Action,
        Target = auditEvent.Target,
        Outcome = auditEvent.Outcome,
        Payload = auditEvent.Data is { Count: > 0 } data ? SerializeData(data) : ReadOnlyMemory<byte>.Empty,
    };

    internal static byte[] SerializeData(IReadOnlyDictionary<string, string?> data)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var pair in data.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (pair.Value is null)
                {
                    writer.WriteNull(pair.Key);
                }
                else
                {
                    writer.WriteString(pair.Key, pair.Value);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
