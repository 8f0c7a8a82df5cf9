using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Ownership;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Recording;

/// <summary>
/// The one place a change is written down: it saves records to the store, publishes events to watchers, appends to the
/// audit trail and records ended rollouts in the meter. Deployment entries and the other parts of the orchestrator call
/// it; it calls none of them.
/// </summary>
internal sealed class DeploymentRecorder(
    IDeploymentStore store,
    IAuditSink audit,
    EventHub events,
    TimeProvider time,
    ILogger logger,
    OrchestrationTelemetry telemetry,
    int rolloutHistoryLimit,
    IDeploymentOwnership ownership)
{
    /// <summary>Core's default sink when it is the one registered: appended to by fields, with no event object made.</summary>
    private readonly InMemoryAuditSink? _memoryAudit = audit as InMemoryAuditSink;

    public IDeploymentStore Store { get; } = store;

    public EventHub Events { get; } = events;

    public TimeProvider Time { get; } = time;

    public ILogger Logger { get; } = logger;

    public OrchestrationTelemetry Telemetry { get; } = telemetry;

    /// <summary>How many ended rollouts a record keeps (<see cref="OrchestrationOptions.RolloutHistoryLimit"/>).</summary>
    public int RolloutHistoryLimit { get; } = rolloutHistoryLimit;

    /// <summary>Decides whether this instance acts on a deployment, and the fencing token its writes carry.</summary>
    public IDeploymentOwnership Ownership { get; } = ownership;

    /// <summary>Saves a record stamped with this instance's fencing token; returns the stored version.</summary>
    public ValueTask<long> SaveAsync(DeploymentRecord record) => Store.SaveAsync(record, CancellationToken.None);

    public void PublishStateChanged(DeploymentState previous, DeploymentRecord record, string? message)
    {
        if (previous != record.State)
        {
            // A new deployment starts Pending: its creation is logged as accepted, not as a change "Pending -> Pending".
            Log.StateChanged(Logger, record.Id, previous, record.State);
        }

        if (Events.HasWatchers)
        {
            Events.Publish(record.Id, DeploymentEventKind.StateChanged, record.State, message ?? $"{previous} -> {record.State}", new EventDetails(PreviousState: previous, Revision: StepRecorder.RevisionOf(record)));
        }
    }

    public ValueTask AuditStateChangedAsync(DeploymentState previous, DeploymentRecord record, string? message)
        => AuditAsync(record.UpdatedAt, OrchestrationActor.System.Id, "deployment.state", record.Id, StateNames.Lower(record.State), new StateChangeAudit(previous, record.State, message));

    public ValueTask AuditAsync(string actor, string action, string target, string outcome, IReadOnlyDictionary<string, string?>? data = null)
        => AuditAsync(Time.GetUtcNow(), actor, action, target, outcome, data);

    /// <summary>Appends an audit event stamped <paramref name="at"/> (the time of the change it records, already read).</summary>
    public ValueTask AuditAsync(DateTimeOffset at, string actor, string action, string target, string outcome, IReadOnlyDictionary<string, string?>? data = null)
    {
        if (_memoryAudit is not null)
        {
            _memoryAudit.Append(at, actor, action, target, outcome, data);
            return ValueTask.CompletedTask;
        }

        ValueTask append;
        try
        {
            append = audit.AppendAsync(new AuditEvent(at, actor, action, target, outcome, data), CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The rollout must not fail because the audit sink did; the failure is logged loudly instead.
            Log.AuditFailed(Logger, ex, action, target);
            return ValueTask.CompletedTask;
        }

        // A sink that appends at once (the in-memory one) costs no state machine.
        return append.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitAuditAsync(append, action, target);
    }

    public void RecordRolloutReport(RolloutReport report) => Telemetry.RecordRolloutReport(report);

    private async ValueTask AwaitAuditAsync(ValueTask append, string action, string target)
    {
        try
        {
            await append.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.AuditFailed(Logger, ex, action, target);
        }
    }
}
