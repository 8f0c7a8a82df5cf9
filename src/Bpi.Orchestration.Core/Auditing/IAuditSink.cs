namespace Bpi.Orchestration.Auditing;

/// <summary>
/// Receives one <see cref="AuditEvent"/> for every operation on the orchestrator and every transition of a rollout.
/// The in-memory sink ships in Core; the durable, hash-chained store is in <c>Bpi.Orchestration.Audit</c>.
/// </summary>
/// <remarks>
/// An implementation must be safe for concurrent calls and must not return before the event is as durable as the
/// sink promises (the file store acknowledges only after the bytes are flushed to disk). Events never carry secret
/// values: the orchestrator redacts them before calling the sink.
/// </remarks>
public interface IAuditSink
{
    /// <summary>Appends one event.</summary>
    /// <param name="auditEvent">The event to append.</param>
    /// <param name="cancellationToken">Cancels the append; an append that was cancelled may or may not have been stored.</param>
    /// <returns>A task that completes once the event is stored.</returns>
    ValueTask AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default);
}
