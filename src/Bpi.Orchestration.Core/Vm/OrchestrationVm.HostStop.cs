using System.Collections.Concurrent;
using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration;

/// <summary>The host's shutdown policy (<see cref="OrchestrationOptions.OnHostStop"/>), run when the generic host stops.</summary>
internal sealed partial class OrchestrationVm
{
    private static readonly AuditData HostStopDestroyData = new([new("force", "false"), new("reason", "host-stop")]);

    /// <summary>Runs <see cref="OrchestrationOptions.OnHostStop"/> on every deployment, then stops; cancelled by the host's shutdown timeout.</summary>
    public async Task StopForHostAsync(CancellationToken cancellationToken)
    {
        var action = Options.OnHostStop;
        if (action == HostStopAction.Leave || _status != VmStatus.Running)
        {
            await StopAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var ids = _registry.Entries.Where(e => e.Record.State != DeploymentState.Destroyed).Select(e => e.DeploymentId).ToArray();
        var actionName = action == HostStopAction.Destroy ? "destroy" : "stop-workloads";
        var count = ids.Length.ToString(CultureInfo.InvariantCulture);
        Log.HostStopPolicyStarted(Logger, VmId, actionName, ids.Length);
        await _recorder.AuditAsync(OrchestrationActor.System.Id, "orchestrator.host-stop", VmId, "accepted", new AuditData([new("action", actionName), new("deployments", count)])).ConfigureAwait(false);
        var failures = new ConcurrentQueue<string>();
        try
        {
            if (action == HostStopAction.Destroy)
            {
                // Concurrently: the host's shutdown timeout bounds the whole, not each deployment.
                await Task.WhenAll(ids.Select(id => DestroyOnHostStopAsync(id, failures, cancellationToken))).ConfigureAwait(false);
                await StopAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // Rollouts stop first, so none starts an instance again behind the removal.
                await StopAsync(cancellationToken).ConfigureAwait(false);
                var runtime = _runner.RequireRuntime();
                await Task.WhenAll(ids.Select(id => RemoveWorkloadsOnHostStopAsync(runtime, id, failures, cancellationToken))).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.HostStopPolicyCancelled(Logger, VmId, actionName);
            await _recorder.AuditAsync(OrchestrationActor.System.Id, "orchestrator.host-stop", VmId, "cancelled", new AuditData([new("action", actionName), new("deployments", count)])).ConfigureAwait(false);
            // The orchestrator still stops: its rollouts stop where they stand, as without a policy.
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
            return;
        }

        var outcome = failures.IsEmpty ? "succeeded" : "failed";
        Log.HostStopPolicyEnded(Logger, VmId, actionName, ids.Length - failures.Count, ids.Length);
        await _recorder.AuditAsync(
            OrchestrationActor.System.Id,
            "orchestrator.host-stop",
            VmId,
            outcome,
            new AuditData([new("action", actionName), new("deployments", count), new("failures", failures.IsEmpty ? null : string.Join("; ", failures))])).ConfigureAwait(false);
    }

    private async Task DestroyOnHostStopAsync(string deploymentId, ConcurrentQueue<string> failures, CancellationToken cancellationToken)
    {
        try
        {
            if (_registry.TryGet(deploymentId, out var entry))
            {
                // The host's own policy, not a request: no authorization, audited as the system actor.
                await _interventions.DestroyEntryAsync(entry, OrchestrationActor.System, force: false, HostStopDestroyData, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OrchestrationException ex)
        {
            Log.HostStopDeploymentFailed(Logger, ex, deploymentId);
            failures.Enqueue($"{deploymentId}: {ex.Message}");
        }
    }

    private async Task RemoveWorkloadsOnHostStopAsync(IWorkloadRuntime runtime, string deploymentId, ConcurrentQueue<string> failures, CancellationToken cancellationToken)
    {
        try
        {
            await _runner.RuntimePipeline.ExecuteAsync(static (s, ct) => s.runtime.RemoveDeploymentAsync(s.deploymentId, ct), (runtime, deploymentId), cancellationToken).ConfigureAwait(false);
            await _recorder.AuditAsync(OrchestrationActor.System.Id, "deployment.workloads.stopped", deploymentId, "succeeded", new AuditData([new("reason", "host-stop")])).ConfigureAwait(false);
        }
        catch (OrchestrationException ex)
        {
            Log.HostStopDeploymentFailed(Logger, ex, deploymentId);
            failures.Enqueue($"{deploymentId}: {ex.Message}");
            await _recorder.AuditAsync(OrchestrationActor.System.Id, "deployment.workloads.stopped", deploymentId, "failed", new AuditData([new("reason", "host-stop"), new("error", ex.Message)])).ConfigureAwait(false);
        }
    }
}
