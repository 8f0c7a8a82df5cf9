using Bpi.Orchestration.Ownership;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration;

/// <summary>
/// What a shared <see cref="IDeploymentOwnership"/> tells this orchestrator: a deployment gained (take it over at its
/// stored cursor), lost (stop acting at once), or changed by another instance (refresh what reads answer).
/// </summary>
internal sealed partial class OrchestrationVm : IOwnedDeploymentsHost
{
    public async Task AcquiredAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        if (_status != VmStatus.Running)
        {
            return;
        }

        try
        {
            // The previous owner may have gone on after this instance last read the record: continue from what is stored.
            if (await _recorder.Store.GetAsync(deploymentId, cancellationToken).ConfigureAwait(false) is not { } stored)
            {
                return;
            }

            var entry = await AdoptRecordAsync(stored, cancellationToken).ConfigureAwait(false);
            Log.OwnershipAcquired(Logger, deploymentId, stored.State);
            if (stored.State.IsLive() && !stored.State.IsSettled())
            {
                await _runner.ResumeInterruptedAsync(entry).ConfigureAwait(false);
            }
            else
            {
                entry.Healer?.Wake();
            }
        }
        catch (OrchestrationException ex)
        {
            Log.TakeoverFailed(Logger, ex, deploymentId);
        }
    }

    public Task LostAsync(string deploymentId)
    {
        if (_registry.TryGet(deploymentId, out var entry))
        {
            Log.OwnershipLost(Logger, null, deploymentId);
            entry.Work?.Control.StopLost();
            entry.Healer?.CancelRepair();
        }

        return Task.CompletedTask;
    }

    public async Task RefreshAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        if (_status != VmStatus.Running || _recorder.Ownership.ShouldAct(deploymentId))
        {
            // What this instance owns it wrote itself: its record is the newest.
            return;
        }

        if (await _recorder.Store.GetAsync(deploymentId, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            await AdoptRecordAsync(stored, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Makes the stored record the one this instance knows: a new entry, or the known entry's record replaced.</summary>
    private async Task<DeploymentEntry> AdoptRecordAsync(DeploymentRecord stored, CancellationToken cancellationToken)
    {
        if (_registry.TryGet(stored.Id, out var entry))
        {
            var wasLive = entry.Record.State.IsLive();
            await entry.ReplaceRecordAsync(stored, cancellationToken).ConfigureAwait(false);
            if (wasLive && !stored.State.IsLive())
            {
                _telemetry.DeploymentsActive.Add(-1);
                Ledger.Release(stored.Id);
                await _registry.OnDestroyedAsync(stored).ConfigureAwait(false);
            }
            else if (stored.State.IsLive())
            {
                TryRestoreReservation(stored);
            }

            return entry;
        }

        entry = NewEntry(stored);
        _registry.Add(entry);
        if (stored.State.IsLive())
        {
            _telemetry.DeploymentsActive.Add(1);
            TryRestoreReservation(stored);
        }
        else
        {
            _registry.RememberDestroyed(stored.Id);
        }

        return entry;
    }
}
