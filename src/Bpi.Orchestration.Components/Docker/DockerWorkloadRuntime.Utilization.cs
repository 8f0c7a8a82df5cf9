using Bpi.Orchestration.Runtime;
using Docker.DotNet.Models;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>
/// Utilisation (<see cref="IWorkloadUtilization"/>) from the engine's stats endpoint: one sample per running container
/// (<c>GET /containers/{id}/stats?stream=false</c>, which waits for a second CPU reading), read as the Docker CLI reads it —
/// cores = (container CPU delta / system CPU delta) × online CPUs, memory = usage minus the inactive page cache.
/// </summary>
internal sealed partial class DockerWorkloadRuntime : IWorkloadUtilization
{
    public async ValueTask<IReadOnlyList<InstanceUtilization>> GetUtilizationAsync(string deploymentId, string componentId, int revision, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        ArgumentException.ThrowIfNullOrWhiteSpace(componentId);
        ThrowIfDisposed();
        var filter = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [WorkloadLabels.Deployment] = deploymentId,
            [WorkloadLabels.Component] = componentId,
            [WorkloadLabels.Revision] = revision.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var containers = await _client.ListContainersAsync(filter, all: false, cancellationToken).ConfigureAwait(false);

        // Each sample takes about a second (the engine waits for its second reading): take them side by side.
        var samples = await Task.WhenAll(containers.Select(async c =>
        {
            try
            {
                var stats = await _client.GetStatsAsync(c.ID, cancellationToken).ConfigureAwait(false);
                return new InstanceUtilization(InstanceId(c), CpuCores(stats), MemoryBytes(stats));
            }
            catch (DockerEngineException ex) when (ex.Kind == OrchestrationErrorKind.NotFound)
            {
                return null; // removed between the list and the sample
            }
        })).ConfigureAwait(false);
        return [.. samples.OfType<InstanceUtilization>()];
    }

    /// <summary>Cores in use between the sample's two readings; <see langword="null"/> without a previous reading.</summary>
    internal static double? CpuCores(ContainerStatsResponse stats)
    {
        var now = stats.CPUStats;
        var before = stats.PreCPUStats;
        if (now?.CPUUsage is null || before?.CPUUsage is null || before.SystemUsage == 0 || now.SystemUsage <= before.SystemUsage || now.CPUUsage.TotalUsage < before.CPUUsage.TotalUsage)
        {
            return null;
        }

        var online = now.OnlineCPUs > 0 ? now.OnlineCPUs : (uint)(now.CPUUsage.PercpuUsage?.Count ?? 0);
        if (online == 0)
        {
            return null;
        }

        return (double)(now.CPUUsage.TotalUsage - before.CPUUsage.TotalUsage) / (now.SystemUsage - before.SystemUsage) * online;
    }

    /// <summary>Memory in use without the reclaimable page cache (<c>inactive_file</c> on cgroup v2, <c>total_inactive_file</c> on v1).</summary>
    internal static long? MemoryBytes(ContainerStatsResponse stats)
    {
        if (stats.MemoryStats is not { Usage: { } usage and > 0 } memory)
        {
            return null;
        }

        var cache = memory.Stats is { } s && (s.TryGetValue("inactive_file", out var v2) || s.TryGetValue("total_inactive_file", out v2)) ? v2 : 0;
        return (long)(cache < usage ? usage - cache : usage);
    }
}
