using Bpi.Orchestration.Security.Checks;

namespace Bpi.Orchestration.Security.Runtime;

/// <summary>Reads the security-relevant settings of a deployment's running containers (for re-assessment of what actually runs).</summary>
public interface IContainerInspector
{
    /// <summary>Inspects every container of a deployment, running or stopped (those labelled <c>bpi.orchestration/deployment</c> = <paramref name="deploymentId"/>).</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the inspection.</param>
    /// <returns>One profile per container; empty when none runs.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.RuntimeUnavailable"/>: the engine could not be reached.</exception>
    ValueTask<IReadOnlyList<ContainerProfile>> InspectDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default);
}
