namespace Bpi.Orchestration.Auditing;

/// <summary>
/// Core's default <see cref="IAuditSink"/>: keeps the most recent events in memory (a ring of
/// <see cref="Capacity"/> events). Not durable and not tamper-evident; add the Audit package's file store for that.
/// </summary>
public sealed class InMemoryAuditSink : IAuditSink
{
    private readonly Lock _gate = new();
    private readonly Queue<AuditEvent> _events;
    private long _total;

    /// <summary>Creates a sink that keeps the last <paramref name="capacity"/> events.</summary>
    /// <param name="capacity">How many events to keep; older ones are dropped.</param>
    public InMemoryAuditSink(int capacity = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _events = new Queue<AuditEvent>(Math.Min(capacity, 1024));
    }

    /// <summary>How many events are kept.</summary>
    public int Capacity { get; }

    /// <summary>How many events were appended in all, including dropped ones.</summary>
    public long TotalAppended
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        lock (_gate)
        {
            if (_events.Count == Capacity)
            {
                _events.Dequeue();
            }

            _events.Enqueue(auditEvent);
            _total++;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>A copy of the kept events, oldest first.</summary>
    /// <returns>The events.</returns>
    public IReadOnlyList<AuditEvent> Snapshot()
    {
        lock (_gate)
        {
            return [.. _events];
        }
    }
}
