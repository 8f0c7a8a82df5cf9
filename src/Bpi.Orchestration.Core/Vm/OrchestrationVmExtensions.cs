namespace Bpi.Orchestration;

/// <summary>Conveniences on <see cref="IOrchestrationVm"/>.</summary>
public static class OrchestrationVmExtensions
{
    /// <summary>
    /// Waits until a deployment settles (Running, RolledBack, Failed or Destroyed) and returns its status. Watches
    /// events instead of polling, so it returns as soon as the state changes.
    /// </summary>
    /// <param name="vm">The orchestrator.</param>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the wait; pass a timeout token to bound it.</param>
    /// <returns>The settled status.</returns>
    public static Task<DeploymentStatus> WaitUntilSettledAsync(this IOrchestrationVm vm, string deploymentId, CancellationToken cancellationToken = default)
        => WaitForStateAsync(vm, deploymentId, static s => s.IsSettled(), cancellationToken);

    /// <summary>Waits until a deployment's state satisfies <paramref name="predicate"/> and returns its status.</summary>
    /// <param name="vm">The orchestrator.</param>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="predicate">The condition on the state.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The status once the condition holds.</returns>
    public static async Task<DeploymentStatus> WaitForStateAsync(this IOrchestrationVm vm, string deploymentId, Func<DeploymentState, bool> predicate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(predicate);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        // Subscribe before reading the status, so a change between the two is not missed.
        var events = vm.WatchAsync(deploymentId, cts.Token);
        var status = await vm.GetStatusAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        if (predicate(status.State))
        {
            await cts.CancelAsync().ConfigureAwait(false);
            return status;
        }

        await foreach (var e in events.ConfigureAwait(false))
        {
            if (e.Kind == DeploymentEventKind.StateChanged && predicate(e.State))
            {
                status = await vm.GetStatusAsync(deploymentId, cancellationToken).ConfigureAwait(false);
                if (predicate(status.State))
                {
                    await cts.CancelAsync().ConfigureAwait(false);
                    return status;
                }
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new OrchestrationException(OrchestrationErrorKind.NotRunning, "The orchestrator stopped before the deployment reached the awaited state.");
    }
}
