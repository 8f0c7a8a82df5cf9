using System.Collections.Concurrent;
using Bpi.Orchestration.Auditing;

namespace Bpi.Orchestration.Components.Tests.Infrastructure;

internal sealed class RecordingAuditSink : IAuditSink
{
    public ConcurrentQueue<AuditEvent> Events { get; } = new();

    public ValueTask AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        Events.Enqueue(auditEvent);
        return ValueTask.CompletedTask;
    }
}
