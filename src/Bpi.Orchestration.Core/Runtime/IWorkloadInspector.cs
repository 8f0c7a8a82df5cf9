namespace Bpi.Orchestration.Runtime;

/// <summary>
/// An optional capability of an <see cref="IWorkloadRuntime"/>: the engine's own description of every instance of a
/// deployment (as <c>docker inspect</c> or <c>kubectl get -o json</c> print it), for checks that must judge what actually
/// runs rather than what the spec asked for (the Security package's runtime assessment). The runtime keeps the only
/// connection to its engine; readers get the raw document and parse the fields they need.
/// </summary>
public interface IWorkloadInspector
{
    /// <summary>
    /// Inspects every instance of a deployment, running or stopped (those carrying the
    /// <see cref="WorkloadLabels.Deployment"/> label <paramref name="deploymentId"/>), ordered by <see cref="WorkloadInspection.InstanceId"/>.
    /// </summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the inspection.</param>
    /// <returns>One inspection per instance; empty when the deployment has none.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.RuntimeUnavailable"/>: the engine could not be reached.</exception>
    ValueTask<IReadOnlyList<WorkloadInspection>> InspectDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default);
}

/// <summary>One instance as its engine describes it.</summary>
/// <param name="ComponentId">The component the instance belongs to (its <see cref="WorkloadLabels.Component"/> label; empty when it has none).</param>
/// <param name="Revision">The revision of the component (its <see cref="WorkloadLabels.Revision"/> label; 0 when it has none).</param>
/// <param name="InstanceId">The instance, as the runtime reports it (<see cref="WorkloadInstance.InstanceId"/>; the container name on Docker).</param>
/// <param name="Engine">
/// Which engine wrote <paramref name="Document"/>, and so its format: the runtime's <see cref="IWorkloadRuntime.Name"/>,
/// <see cref="DockerEngine"/> for the Docker Engine API's <c>GET /containers/{id}/json</c> answer,
/// <see cref="KubernetesEngine"/> for a Kubernetes <c>v1</c> Pod object.
/// </param>
/// <param name="Document">The engine's inspect document, as JSON text, unchanged.</param>
public sealed record WorkloadInspection(string ComponentId, int Revision, string InstanceId, string Engine, string Document)
{
    /// <summary>The <see cref="Engine"/> of Docker: <see cref="Document"/> is the Engine API's container inspect object.</summary>
    public const string DockerEngine = "docker";

    /// <summary>The <see cref="Engine"/> of Kubernetes: <see cref="Document"/> is the API server's <c>v1</c> Pod object (as <c>kubectl get pod -o json</c> prints it).</summary>
    public const string KubernetesEngine = "kubernetes";
}
