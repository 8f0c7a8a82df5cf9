namespace Bpi.Orchestration.Runtime;

/// <summary>
/// The component manager a <see cref="DeploymentType"/> selects: the orchestrator asks it to check every spec with
/// components of its type before admitting it, and refuses a type that has no manager registered, so choosing a type
/// never silently does nothing. Core serves <see cref="DeploymentType.DockLockContainer"/> itself (hardening enforced
/// on the Docker and Kubernetes runtimes, a recorded note elsewhere); the package of each other type registers its
/// manager (<c>AddEncCluster()</c>, <c>AddCueNginx()</c> for CueNginx and HttpCage).
/// </summary>
/// <remarks>
/// In a <see cref="DeploymentType.HybridInfrastructure"/> deployment a manager serves only the components whose
/// <see cref="DeploymentSpec.TypeOf"/> is its <see cref="Type"/>; it should check and name those.
/// </remarks>
public interface IComponentManager
{
    /// <summary>The deployment type this manager serves.</summary>
    DeploymentType Type { get; }

    /// <summary>Lists why this manager cannot serve <paramref name="spec"/>'s components of its type (for example a runtime or router it cannot work with); empty when it can.</summary>
    /// <param name="spec">A spec with components of type <see cref="Type"/> that passed <see cref="DeploymentSpec.Validate"/>'s own checks or is about to.</param>
    /// <returns>One sentence per problem, naming the field and what to do.</returns>
    IReadOnlyList<string> Check(DeploymentSpec spec);

    /// <summary>
    /// Lists what this manager admits but does not enforce for <paramref name="spec"/> (for example no container hardening
    /// on a runtime without containers); the orchestrator records these notes with the deployment's audit entry.
    /// </summary>
    /// <param name="spec">A spec this manager's <see cref="Check"/> accepted.</param>
    /// <returns>One sentence per note; empty (the default) when everything of the type is enforced.</returns>
    IReadOnlyList<string> Notes(DeploymentSpec spec) => [];
}
