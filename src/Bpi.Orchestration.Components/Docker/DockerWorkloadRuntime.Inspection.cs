using Docker.DotNet.Models;
using System.Globalization;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>Inspection (<see cref="IWorkloadInspector"/>), the owner's objects, and images.</summary>
internal sealed partial class DockerWorkloadRuntime
{
    public async ValueTask<IReadOnlyList<WorkloadInspection>> InspectDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        ThrowIfDisposed();
        var filter = new Dictionary<string, string?>(StringComparer.Ordinal) { [WorkloadLabels.Deployment] = deploymentId };
        var containers = await _client.ListContainersAsync(filter, all: true, cancellationToken).ConfigureAwait(false);
        var inspections = new List<WorkloadInspection>(containers.Count);
        foreach (var (container, instanceId) in containers.Select(c => (c, InstanceId(c))).OrderBy(c => c.Item2, StringComparer.Ordinal))
        {
            string document;
            try
            {
                document = await _client.InspectContainerJsonAsync(container.ID, cancellationToken).ConfigureAwait(false);
            }
            catch (DockerEngineException ex) when (ex.Kind == OrchestrationErrorKind.NotFound)
            {
                // Removed between the list and the inspect: it no longer runs, so there is nothing to judge.
                continue;
            }

            var labels = container.Labels;
            var revision = labels.Label(WorkloadLabels.Revision) is { } text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 0;
            inspections.Add(new WorkloadInspection(labels.Label(WorkloadLabels.Component) ?? "", revision, instanceId, WorkloadInspection.DockerEngine, document));
        }

        return inspections;
    }

    public async ValueTask<DockerOwnedObjects> ListOwnedObjectsAsync(string ownerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ownerId);
        ThrowIfDisposed();
        var owned = new Dictionary<string, string?>(StringComparer.Ordinal) { [WorkloadLabels.Owner] = ownerId };
        var containers = await _client.ListContainersAsync(owned, all: true, cancellationToken).ConfigureAwait(false);
        var networks = await _client.ListNetworksAsync(owned, cancellationToken).ConfigureAwait(false);
        var volumes = await _client.ListVolumesAsync(owned, cancellationToken).ConfigureAwait(false);
        return new DockerOwnedObjects(
            [.. containers.Select(InstanceId).Order(StringComparer.Ordinal)],
            [.. networks.Select(n => n.Name ?? n.ID).Order(StringComparer.Ordinal)],
            [.. volumes.Select(v => v.Name).Order(StringComparer.Ordinal)]);
    }

    public async ValueTask<bool> ImageExistsAsync(string reference, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        ThrowIfDisposed();
        try
        {
            await _client.InspectImageAsync(reference, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DockerEngineException ex) when (ex.Kind == OrchestrationErrorKind.NotFound)
        {
            return false;
        }
    }

    public async ValueTask<string> ImportImageAsync(Stream rootFilesystemTar, string repository, string tag, IEnumerable<string>? changes = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return await _client.ImportImageAsync(rootFilesystemTar, repository, tag, changes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The instance id <see cref="DockerInstanceMapper"/> reports: the container's name.</summary>
    private static string InstanceId(ContainerListResponse container)
        => container.Names is { Count: > 0 } names ? names[0].TrimStart('/') : container.ID;
}
