using Bpi.Orchestration.Threading;

namespace Bpi.Orchestration.Auditing;

/// <summary>
/// Core's default <see cref="IAuditSink"/>, for development and tests: keeps the most recent events in memory (a ring
/// of <see cref="Capacity"/> events, <see cref="DefaultCapacity"/> unless given). Not durable and not tamper-evident;
/// add the Audit package's file store for a trail that must be kept.
/// </summary>
/// <remarks>
/// The ring keeps each event's fields in one preallocated array rather than the event objects: an event lives until
/// <see cref="Capacity"/> others are appended after it, long enough for the garbage collector to copy it between
/// generations, so one object fewer per event keeps that copying down. The capacity matters for the same reason: an
/// orchestrator running rollouts back to back spent about a fifth of its time in the collector keeping 10,000 events
/// alive (the default before 1,000); raise it when a test or tool needs more, or use the durable store.
/// <see cref="Snapshot"/> builds the events again.
/// </remarks>
public sealed class InMemoryAuditSink : IAuditSink
{
    private SpinLock _spin = LeafLock.Create(); // leaf sections only: see LeafLock
    private readonly Slot[] _ring;
    private int _next;
    private int _count;
    private long _total;

    /// <summary>How many events a sink keeps unless told otherwise: enough to inspect the last few dozen rollouts.</summary>
    public const int DefaultCapacity = 1_000;

    /// <summary>Creates a sink that keeps the last <paramref name="capacity"/> events.</summary>
    /// <param name="capacity">How many events to keep; older ones are dropped. The default is <see cref="DefaultCapacity"/>.</param>
    public InMemoryAuditSink(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _ring = new Slot[capacity];
    }

    /// <summary>How many events are kept.</summary>
    public int Capacity { get; }

    /// <summary>How many events were appended in all, including dropped ones.</summary>
    public long TotalAppended
    {
        get
        {
            using (LeafLock.Enter(ref _spin))
            {
                return _total;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        Append(new Slot(auditEvent.Timestamp, auditEvent.Actor, auditEvent.Action, auditEvent.Target, auditEvent.Outcome, auditEvent.Data));
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Appends an event given by its fields: the orchestrator's own path to its default sink, which keeps the fields and
    /// never the event, so it makes no event object only to copy it.
    /// </summary>
    internal void Append(DateTimeOffset timestamp, string actor, string action, string target, string outcome, IReadOnlyDictionary<string, string?>? data)
        => Append(new Slot(timestamp, actor, action, target, outcome, data));

    private void Append(in Slot slot)
    {
        using (LeafLock.Enter(ref _spin))
        {
            _ring[_next] = slot;
            _next = _next + 1 == _ring.Length ? 0 : _next + 1;
            _count = Math.Min(_count + 1, _ring.Length);
            _total++;
        }
    }

    /// <summary>A copy of the kept events, oldest first.</summary>
    /// <returns>The events.</returns>
    public IReadOnlyList<AuditEvent> Snapshot()
    {
        // Under the leaf lock only the copy of the slots, oldest first (two block copies); the events are built after it.
        Slot[] slots;
        using (LeafLock.Enter(ref _spin))
        {
            slots = new Slot[_count];
            var start = _count < _ring.Length ? 0 : _next;
            var head = Math.Min(_count, _ring.Length - start);
            Array.Copy(_ring, start, slots, 0, head);
            Array.Copy(_ring, 0, slots, head, _count - head);
        }

        var events = new AuditEvent[slots.Length];
        for (var i = 0; i < slots.Length; i++)
        {
            var s = slots[i];
            events[i] = new AuditEvent(s.Timestamp, s.Actor, s.Action, s.Target, s.Outcome, s.Data);
        }

        return events;
    }

    private readonly record struct Slot(DateTimeOffset Timestamp, string Actor, string Action, string Target, string Outcome, IReadOnlyDictionary<string, string?>? Data);
}
