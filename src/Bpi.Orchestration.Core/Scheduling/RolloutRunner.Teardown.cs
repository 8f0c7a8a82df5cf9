using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration;

/// <summary>Taking things down as plans: destroying a deployment, and sweeping revisions that should no longer run.</summary>
internal sealed partial class RolloutRunner
{
    /// <summary>
    /// Tears a deployment down with a destroy plan run by the executor — scale every revision to zero (unless forced),
    /// remove its routes — then removes everything the runtime still holds of it and marks it destroyed. The plan can be
    /// paused and resumed like a rollout; after a crash it is planned again from what the runtime reports.
    /// </summary>
    /// <param name="entry">The deployment.</param>
    /// <param name="force">Skip the graceful scale-down.</param>
    /// <param name="cancellationToken">Cancels the destroy; the deployment stays Destroying and is resumed on the next start.</param>
    public async Task DestroyAsync(DeploymentEntry entry, bool force, CancellationToken cancellationToken)
    {
        var runtime = RequireRuntime();
        var id = entry.DeploymentId;
        var work = entry.BeginWork(RolloutKind.Destroy, entry.Record.StableRevision, 0, 0, null, tracked: false);
        try
        {
            if (entry.Healer is { } healer)
            {
                await healer.WaitIdleAsync().ConfigureAwait(false);
            }

            // Destroying is stored first: a destroy interrupted from here on (a cancelled caller, a crash) is resumed.
            var record = await entry.UpdateAsync(static (r, _) => r with { State = DeploymentState.Destroying, Cursor = null }, 0, force ? "destroying (forced)" : "destroying", cancellationToken: CancellationToken.None).ConfigureAwait(false);
            IReadOnlyList<WorkloadInstance> observed = force
                ? []
                : await RuntimePipeline.ExecuteAsync(static (s, ct) => s.runtime.GetInstancesAsync(s.id, cancellationToken: ct), (runtime, id), cancellationToken).ConfigureAwait(false);
            var plan = ConvergePlans.Destroy(record, observed, force, Router is not null);

            // The destroy's own abort token is cancelled by exactly what must stop it: a forced abort (another destroy
            // takes over), the lease lost, and the orchestrator stopping (it stops every run's control); a destroy is
            // never aborted otherwise. A caller's token is linked in only when it can be cancelled.
            using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(work.Control.AbortToken, cancellationToken) : null;
            await _executor.RunAsync(entry.Steps, entry.StepContext!, plan, 0, linked?.Token ?? work.Control.AbortToken).ConfigureAwait(false);
        }
        catch (RolloutStepFailedException failed)
        {
            // The deployment stays Destroying: destroying it again (or the next start) plans the rest again.
            throw failed.Error;
        }
        catch (OperationCanceledException) when (work.Control.ForceAbort || work.Control.IsLost)
        {
            // Another destroy stopped this one and takes over (or another instance owns the deployment now).
            return;
        }
        finally
        {
            entry.EndWork(work);
        }

        await RuntimePipeline.ExecuteAsync(static (s, ct) => s.runtime.RemoveDeploymentAsync(s.id, ct), (runtime, id), cancellationToken).ConfigureAwait(false);
        _ledger.Release(id);
        var now = Time.GetUtcNow();
        var destroyed = await entry.UpdateAsync(
            static (r, now) => r with
            {
                State = DeploymentState.Destroyed,
                Cursor = null,
                TargetRevision = null,
                Allocation = ResourceRequirements.None,
                CompletedAt = now,
            },
            now,
            "destroyed",
            at: now,
            cancellationToken: CancellationToken.None).ConfigureAwait(false);
        Telemetry.DeploymentsActive.Add(-1);
        await _recorder.AuditAsync(now, OrchestrationActor.Current.Id, "deployment.destroyed", id, "succeeded").ConfigureAwait(false);
        await _registry.OnDestroyedAsync(destroyed).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a clean-up plan that scales every revision other than <paramref name="keep"/> to zero: a safety net after
    /// every plan, so no instance of an old or failed revision is left behind. Usually nothing is stale and no plan runs.
    /// </summary>
    private async Task CleanupStaleRevisionsAsync(DeploymentEntry entry, int keep)
    {
        var observed = await RequireRuntime().GetInstancesAsync(entry.DeploymentId, cancellationToken: _stopping.Token).ConfigureAwait(false);
        if (ConvergePlans.Cleanup(entry.Record, keep, observed) is not { } plan)
        {
            return;
        }

        try
        {
            await _executor.RunAsync(entry.Steps, entry.StepContext!, plan, 0, _stopping.Token).ConfigureAwait(false);
        }
        catch (RolloutStepFailedException failed)
        {
            // A safety net must not fail the plan it follows: what is left is swept after the next plan, or by a destroy.
            Log.CleanupFailed(_recorder.Logger, failed.Error, entry.DeploymentId, (plan.Steps[failed.StepIndex] as ScaleRevisionStep)?.Revision ?? keep);
        }
    }
}
