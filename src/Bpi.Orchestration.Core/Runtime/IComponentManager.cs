namespace Bpi.Orchestration.Runtime;

/// <summary>
/// The component manager a <see cref="DeploymentType"/> selects (EncCluster, for example): the orchestrator asks it to
/// check every spec of its type before admitting it, and refuses a type that needs a manager when none is registered,
/// so choosing a type never silently does nothing.
/// </summary>
public interface IComponentManager
{
    /// <summary>The deployment type this manager serves.</summary>
    DeploymentType Type { get; }

    /// <summary>Lists why this manager cannot serve <paramref name="spec"/> (for example a runtime it cannot work with); empty when it can.</summary>
    /// <param name="spec">A spec of type <see cref="Type"/> that passed <see cref="DeploymentSpec.Validate"/>'s own checks or is about to.</param>
    /// <returns>One sentence per problem, naming the field and what to do.</returns>
    IReadOnlyList<string> Check(DeploymentSpec spec);
}
