using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security.Checks;

namespace Bpi.Orchestration.Security.Runtime;

/// <summary>
/// The <see cref="IContainerInspector"/> over the runtime's <see cref="IWorkloadInspector"/>: the runtime reads its engine,
/// this parses each document (<see cref="DockerInspectParser"/> for <see cref="WorkloadInspection.DockerEngine"/>,
/// <see cref="PodDocumentParser"/> for <see cref="WorkloadInspection.KubernetesEngine"/>, one profile per container). The
/// Security package keeps no connection to any engine of its own.
/// </summary>
internal sealed class WorkloadContainerInspector(IWorkloadInspector inspector) : IContainerInspector
{
    public async ValueTask<IReadOnlyList<ContainerProfile>> InspectDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        var inspections = await inspector.InspectDeploymentAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        var profiles = new List<ContainerProfile>(inspections.Count);
        foreach (var inspection in inspections)
        {
            if (string.Equals(inspection.Engine, WorkloadInspection.KubernetesEngine, StringComparison.Ordinal))
            {
                profiles.AddRange(PodDocumentParser.Parse(inspection.Document));
                continue;
            }

            if (!string.Equals(inspection.Engine, WorkloadInspection.DockerEngine, StringComparison.Ordinal))
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.InvalidConfiguration,
                    $"The runtime describes instance '{inspection.InstanceId}' in the format of engine '{inspection.Engine}', which the Security package cannot read (it reads '{WorkloadInspection.DockerEngine}' and '{WorkloadInspection.KubernetesEngine}'); register an IContainerInspector of your own for that runtime.");
            }

            var profile = DockerInspectParser.Parse(inspection.Document);
            profiles.Add(profile.ComponentId.Length == 0 && inspection.ComponentId.Length > 0 ? profile with { ComponentId = inspection.ComponentId } : profile);
        }

        return profiles;
    }
}
