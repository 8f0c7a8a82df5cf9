using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Recording;
using Bpi.Orchestration.Security;

namespace Bpi.Orchestration.Admission;

/// <summary>
/// People acting on a running plan: pause, resume, abort, promote, approve, reject — and destroy, which stops whatever
/// runs and hands the deployment to the runner's teardown. Each is authorized, signalled to the plan's control, published
/// and audited.
/// </summary>
internal sealed class RolloutInterventions(OperationGate gate, DeploymentRegistry registry, DeploymentRecorder recorder, RolloutRunner runner)
{
    public async Task PauseAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var (entry, work) = await gate.GetActiveWorkAsync(deploymentId, OrchestrationVerbs.Pause, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        if (work.Control.Pause($"paused by {actor.Id}"))
        {
            await RecordAsync(entry, actor, "pause", $"paused by {actor.Id}").ConfigureAwait(false);
        }
    }

    public async Task ResumeAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var (entry, work) = await gate.GetActiveWorkAsync(deploymentId, OrchestrationVerbs.Resume, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        if (work.Control.Resume($"resumed by {actor.Id}"))
        {
            await RecordAsync(entry, actor, "resume", $"resumed by {actor.Id}").ConfigureAwait(false);
        }
    }

    public async Task AbortAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var (entry, work) = await gate.GetActiveWorkAsync(deploymentId, OrchestrationVerbs.Abort, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        if (work.Kind == Rollout.RolloutKind.Destroy)
        {
            throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"Deployment '{deploymentId}' is being destroyed; a destroy cannot be aborted (pause it with PauseAsync, or let it finish).");
        }

        work.Control.Abort($"aborted by {actor.Id}", force: false);
        await RecordAsync(entry, actor, "abort", $"aborted by {actor.Id}").ConfigureAwait(false);
        if (work.TryCancelQueued())
        {
            try
            {
                await runner.FinishAbortedBeforeStartAsync(work).ConfigureAwait(false);
            }
            finally
            {
                entry.EndWork(work);
            }
        }
    }

    public async Task PromoteAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var (entry, work) = await gate.GetActiveWorkAsync(deploymentId, OrchestrationVerbs.Promote, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        if (!work.Control.TryPromote())
        {
            throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"The rollout of '{deploymentId}' is not waiting at a pause step, so there is nothing to promote (current step: {entry.Progress.CurrentStep ?? "none"}).");
        }

        await RecordAsync(entry, actor, "promote", $"promoted by {actor.Id}").ConfigureAwait(false);
    }

    public async Task DecideAsync(string deploymentId, string gateName, bool approve, string? comment, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(gateName);
        var actor = OrchestrationActor.Current;
        var (entry, work) = await gate.GetActiveWorkAsync(deploymentId, OrchestrationVerbs.Approve, cancellationToken, new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["gate"] = gateName,
            ["requester"] = registry.TryGet(deploymentId, out var e) ? e.Record.CreatedBy : "",
        }).ConfigureAwait(false);
        var approvals = work.Control.Decide(gateName, actor.Id, approve, comment);
        await recorder.AuditAsync(actor.Id, approve ? "approval.approve" : "approval.reject", deploymentId, approve ? "approved" : "rejected", new AuditData([new("gate", gateName), new("comment", comment), new("approvals", approvals.ToString(CultureInfo.InvariantCulture))])).ConfigureAwait(false);
        recorder.Events.Publish(entry.DeploymentId, DeploymentEventKind.Intervention, entry.Record.State, $"gate '{gateName}' {(approve ? "approved" : "rejected")} by {actor.Id}" + (string.IsNullOrWhiteSpace(comment) ? "" : $": {comment}"));
    }

    public async Task DestroyAsync(string deploymentId, bool force, CancellationToken cancellationToken)
    {
        var entry = await gate.GetEntryAsync(deploymentId, OrchestrationVerbs.Destroy, cancellationToken).ConfigureAwait(false);
        await DestroyEntryAsync(entry, OrchestrationActor.Current, force, force ? SpecChecks.ForcedData : SpecChecks.GracefulData, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Destroys a deployment already authorized (or destroyed by the host's own stop policy): stops what runs, then tears down.</summary>
    public async Task DestroyEntryAsync(DeploymentEntry entry, OrchestrationActor actor, bool force, AuditData auditData, CancellationToken cancellationToken)
    {
        var deploymentId = entry.DeploymentId;
        if (entry.Record.State == DeploymentState.Destroyed)
        {
            return;
        }

        await recorder.AuditAsync(actor.Id, "deployment.destroy", deploymentId, "accepted", auditData).ConfigureAwait(false);
        if (entry.Work is { } work)
        {
            // Whatever runs stops where it stands (a destroy already under way hands over to this one).
            work.Control.Abort($"destroyed by {actor.Id}", force: true);
            if (work.TryCancelQueued())
            {
                entry.EndWork(work);
            }

            await work.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await runner.DestroyAsync(entry, force, cancellationToken).ConfigureAwait(false);
    }

    private async Task RecordAsync(DeploymentEntry entry, OrchestrationActor actor, string what, string message)
    {
        recorder.Events.Publish(entry.DeploymentId, DeploymentEventKind.Intervention, entry.Record.State, message);
        await recorder.AuditAsync(actor.Id, "rollout." + what, entry.DeploymentId, "accepted").ConfigureAwait(false);
    }
}
