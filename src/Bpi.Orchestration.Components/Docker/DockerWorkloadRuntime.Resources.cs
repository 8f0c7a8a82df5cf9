using Bpi.Orchestration.Components.Docker.DockLock;
using Docker.DotNet.Models;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>Networks, volumes, removal and reconciliation.</summary>
internal sealed partial class DockerWorkloadRuntime
{
    public async ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        ThrowIfDisposed();
        await RemoveDeploymentCoreAsync(deploymentId, ownerId: null, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<DockerReconcileResult> ReconcileAsync(string ownerId, IReadOnlySet<string> liveDeploymentIds, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ownerId);
        ArgumentNullException.ThrowIfNull(liveDeploymentIds);
        ThrowIfDisposed();
        var owned = new Dictionary<string, string?>(StringComparer.Ordinal) { [WorkloadLabels.Owner] = ownerId };
        var containers = await _client.ListContainersAsync(owned, all: true, cancellationToken).ConfigureAwait(false);
        var networks = await _client.ListNetworksAsync(owned, cancellationToken).ConfigureAwait(false);
        var volumes = await _client.ListVolumesAsync(owned, cancellationToken).ConfigureAwait(false);

        var deployments = containers.Select(c => c.Labels)
            .Concat(networks.Select(n => n.Labels))
            .Concat(volumes.Select(v => v.Labels))
            .Select(labels => labels.Label(WorkloadLabels.Deployment) ?? "")
            .Where(id => !liveDeploymentIds.Contains(id))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();

        int removedContainers = 0, removedNetworks = 0, removedVolumes = 0;
        foreach (var deploymentId in deployments)
        {
            var (c, n, v) = await RemoveDeploymentCoreAsync(deploymentId, ownerId, cancellationToken).ConfigureAwait(false);
            removedContainers += c;
            removedNetworks += n;
            removedVolumes += v;
        }

        Log.Reconciled(_logger, ownerId, removedContainers, removedNetworks, removedVolumes, deployments.Count);
        return new DockerReconcileResult(deployments, removedContainers, removedNetworks, removedVolumes);
    }

    /// <summary>
    /// Removes a deployment's containers, then its networks and volumes (which the containers held). With
    /// <paramref name="ownerId"/>, only objects of that owner; an empty <paramref name="deploymentId"/> means objects
    /// that carry the owner label but no deployment label.
    /// </summary>
    private async Task<(int Containers, int Networks, int Volumes)> RemoveDeploymentCoreAsync(string deploymentId, string? ownerId, CancellationToken cancellationToken)
    {
        var gate = _deploymentGates.GetOrAdd(deploymentId, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var filter = new Dictionary<string, string?>(StringComparer.Ordinal);
            if (ownerId is not null)
            {
                filter[WorkloadLabels.Owner] = ownerId;
            }

            bool Belongs(IDictionary<string, string>? labels) =>
                deploymentId.Length > 0 || labels?.ContainsKey(WorkloadLabels.Deployment) != true;

            if (deploymentId.Length > 0)
            {
                filter[WorkloadLabels.Deployment] = deploymentId;
            }

            var containers = (await _client.ListContainersAsync(filter, all: true, cancellationToken).ConfigureAwait(false)).Where(c => Belongs(c.Labels)).ToList();
            await RemoveContainersAsync(containers.Select(c => c.ID).ToList(), deploymentId, cancellationToken).ConfigureAwait(false);

            var networks = (await _client.ListNetworksAsync(filter, cancellationToken).ConfigureAwait(false)).Where(n => Belongs(n.Labels)).ToList();
            var removedNetworks = 0;
            foreach (var network in networks)
            {
                if (await TryRemoveAsync("network", network.Name ?? network.ID, deploymentId, token => _client.RemoveNetworkAsync(network.ID, token), cancellationToken).ConfigureAwait(false))
                {
                    removedNetworks++;
                }
            }

            var volumes = (await _client.ListVolumesAsync(filter, cancellationToken).ConfigureAwait(false)).Where(v => Belongs(v.Labels)).ToList();
            var removedVolumes = 0;
            foreach (var volume in volumes)
            {
                if (await TryRemoveAsync("volume", volume.Name, deploymentId, token => _client.RemoveVolumeAsync(volume.Name, force: false, token), cancellationToken).ConfigureAwait(false))
                {
                    removedVolumes++;
                }
            }

            foreach (var key in _revisionGates.Keys.Where(k => k.StartsWith(deploymentId + "\n", StringComparison.Ordinal)))
            {
                _auditedRevisions.TryRemove(key, out _);
            }

            Log.DeploymentRemoved(_logger, deploymentId, containers.Count, removedNetworks, removedVolumes);
            return (containers.Count, removedNetworks, removedVolumes);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Stops (gracefully, within <see cref="DockerRuntimeOptions.StopTimeout"/>) and removes containers; ones already gone are skipped.</summary>
    private async Task RemoveContainersAsync(List<string> containerIds, string deploymentId, CancellationToken cancellationToken)
    {
        if (containerIds.Count == 0)
        {
            return;
        }

        await Parallel.ForEachAsync(
            containerIds,
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxParallelOperations, CancellationToken = cancellationToken },
            async (id, token) =>
            {
                try
                {
                    await _client.StopContainerAsync(id, _options.StopTimeout, token).ConfigureAwait(false);
                }
                catch (DockerEngineException exception) when (exception.Kind is OrchestrationErrorKind.NotFound or OrchestrationErrorKind.Conflict)
                {
                    // Gone already, or being removed; the removal below settles it.
                }

                if (await TryRemoveAsync("container", id, deploymentId, t => _client.RemoveContainerAsync(id, force: true, removeVolumes: true, t), token).ConfigureAwait(false))
                {
                    Log.ContainerRemoved(_logger, id);
                }
            }).ConfigureAwait(false);
    }

    /// <summary>Removes one object; "not found" counts as done, and "removal already in progress" too.</summary>
    private async Task<bool> TryRemoveAsync(string kind, string name, string deploymentId, Func<CancellationToken, Task> remove, CancellationToken cancellationToken)
    {
        try
        {
            await remove(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DockerEngineException exception) when (exception.Kind == OrchestrationErrorKind.NotFound)
        {
            return false;
        }
        catch (DockerEngineException exception) when (exception.Kind == OrchestrationErrorKind.Conflict
            && exception.EngineMessage?.Contains("already in progress", StringComparison.OrdinalIgnoreCase) == true)
        {
            return true;
        }
        catch (DockerEngineException exception)
        {
            Log.CleanupFailed(_logger, kind, name, deploymentId, exception.Message);
            throw;
        }
    }

    /// <summary>Makes sure the deployment's network exists (created once per deployment, shared by its components).</summary>
    private async Task<string> EnsureNetworkAsync(WorkloadRevision revision, CancellationToken cancellationToken)
    {
        var name = DockerNaming.NetworkName(revision.DeploymentId);
        var gate = _deploymentGates.GetOrAdd(revision.DeploymentId, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            try
            {
                var existing = await _client.InspectNetworkAsync(name, cancellationToken).ConfigureAwait(false);
                if (existing.Labels.Label(WorkloadLabels.Deployment) != revision.DeploymentId)
                {
                    throw new OrchestrationException(
                        OrchestrationErrorKind.NetworkSetupFailed,
                        $"The Docker network '{name}' exists but does not belong to deployment '{revision.DeploymentId}' (it lacks the {WorkloadLabels.Deployment} label). Remove or rename it.");
                }

                return name;
            }
            catch (DockerEngineException exception) when (exception.Kind == OrchestrationErrorKind.NotFound)
            {
                // Not there yet: create it below.
            }

            try
            {
                await _client.CreateNetworkAsync(
                    new NetworksCreateParameters { Name = name, Driver = "bridge", Labels = DockerNaming.DeploymentLabels(revision) },
                    cancellationToken).ConfigureAwait(false);
                Log.NetworkCreated(_logger, name, revision.DeploymentId);
            }
            catch (DockerEngineException exception) when (exception.Kind == OrchestrationErrorKind.Conflict)
            {
                // Another orchestrator process created it first.
            }
            catch (DockerEngineException exception) when (!exception.IsTransient)
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.NetworkSetupFailed,
                    $"Could not create the Docker network '{name}' for deployment '{revision.DeploymentId}': {exception.Message}",
                    exception);
            }

            return name;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<IReadOnlyList<Mount>> EnsureVolumesAsync(WorkloadRevision revision, DockLockPolicy policy, CancellationToken cancellationToken)
    {
        if (policy.Settings.Volumes.Count == 0)
        {
            return [];
        }

        var mounts = new List<Mount>(policy.Settings.Volumes.Count);
        foreach (var volume in policy.Settings.Volumes)
        {
            var name = DockerNaming.VolumeName(revision.DeploymentId, revision.Component.Id, volume.Name);
            var labels = DockerNaming.DeploymentLabels(revision);
            labels[WorkloadLabels.Component] = revision.Component.Id;

            // Creating an existing volume returns it unchanged.
            await _client.CreateVolumeAsync(new VolumesCreateParameters { Name = name, Labels = labels }, cancellationToken).ConfigureAwait(false);
            mounts.Add(new Mount { Type = "volume", Source = name, Target = volume.Target, ReadOnly = volume.ReadOnly });
        }

        return mounts;
    }
}
