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

        if (_registry.TryGet(deploymentId, out var known) && known.Work is { Control.IsLost: true } lost)
        {
            // This instance lost the deployment before and that run still unwinds (a runtime call in flight cannot be
            // taken back): resume once it ended, from what is stored then, without holding up the ownership's loop.
            using var noFlow = ExecutionContext.SuppressFlow();
            _ = Task.Run(
                async () =>
                {
                    await lost.Completion.ConfigureAwait(false);
                    await AcquiredAsync(deploymentId, CancellationToken.None).ConfigureAwait(false);
                },
                CancellationToken.None);
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

    public async Task LostAsync(string deploymentId)
    {
        if (_registry.TryGet(deploymentId, out var entry))
        {
            // Stops the run and the repair, and records the loss as a fencing found before acting would.
            await entry.Steps.ReportLostAsync().ConfigureAwait(false);
        }
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

    public async Task ExecuteCommandAsync(DeploymentCommand command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        var id = command.DeploymentId;
        var arguments = command.Arguments;
        using var actor = OrchestrationActor.BeginScope(command.Actor);
        switch (command.Verb)
        {
            case DeploymentCommandVerbs.Pause:
                await _interventions.PauseAsync(id, cancellationToken).ConfigureAwait(false);
                break;
            case DeploymentCommandVerbs.Resume:
                await _interventions.ResumeAsync(id, cancellationToken).ConfigureAwait(false);
                break;
            case DeploymentCommandVerbs.Abort:
                await _interventions.AbortAsync(id, cancellationToken).ConfigureAwait(false);
                break;
            case DeploymentCommandVerbs.Promote:
                await _interventions.PromoteAsync(id, cancellationToken).ConfigureAwait(false);
                break;
            case DeploymentCommandVerbs.Approve or DeploymentCommandVerbs.Reject:
                await _interventions.DecideAsync(id, Argument(command, "gate") ?? "", command.Verb == DeploymentCommandVerbs.Approve, arguments.GetValueOrDefault("comment"), cancellationToken).ConfigureAwait(false);
                break;
            case DeploymentCommandVerbs.Scale:
                if (!int.TryParse(Argument(command, "replicas"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var replicas))
                {
                    throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The scale command on '{id}' has no valid 'replicas' argument (a whole number ≥ 0).");
                }

                await _admission.ScaleAsync(id, replicas, arguments.GetValueOrDefault("component"), cancellationToken).ConfigureAwait(false);
                break;
            case DeploymentCommandVerbs.Destroy:
                await _interventions.DestroyAsync(id, string.Equals(arguments.GetValueOrDefault("force"), "true", StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"Unknown command '{command.Verb}' on deployment '{id}'; known: {string.Join(", ", DeploymentCommandVerbs.All)}.");
        }

        static string? Argument(DeploymentCommand command, string name) => command.Arguments.GetValueOrDefault(name);
    }

    /// <summary>
    /// Whether another instance owns the deployment, so a command on it is sent to that owner rather than run here: only
    /// with shared ownership, once this instance runs (before, the command runs here and starts it).
    /// </summary>
    private bool OwnedElsewhere(string deploymentId)
        => _recorder.Ownership is not SingleInstanceOwnership
           && _status == VmStatus.Running
           && !string.IsNullOrWhiteSpace(deploymentId)
           && !_recorder.Ownership.ShouldAct(deploymentId);

    private async Task SendToOwnerAsync(string deploymentId, string verb, CancellationToken cancellationToken, params (string Name, string? Value)[] arguments)
    {
        DeploymentIds.ThrowIfInvalid(deploymentId);
        var command = new DeploymentCommand
        {
            DeploymentId = deploymentId,
            Verb = verb,
            Actor = OrchestrationActor.Current,
            Arguments = arguments.ToDictionary(a => a.Name, a => a.Value, StringComparer.Ordinal),
        };
        await _recorder.Ownership.SendToOwnerAsync(command, cancellationToken).ConfigureAwait(false);
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
