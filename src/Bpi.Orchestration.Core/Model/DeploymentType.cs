namespace Bpi.Orchestration;

/// <summary>
/// The kind of deployment, in the vocabulary of the seed design. Each type selects the component manager
/// (<see cref="Runtime.IComponentManager"/>) that serves it, and a spec whose type has no manager registered, or whose
/// manager cannot serve it on the registered runtime and router, is refused with every reason.
/// </summary>
public enum DeploymentType
{
    /// <summary>Hardened containers (DockLock).</summary>
    DockLockContainer = 0,

    /// <summary>An encrypted cluster network (EncCluster).</summary>
    EncCluster,

    /// <summary>HTTP protection in front of a service (HttpCage).</summary>
    HttpCage,

    /// <summary>nginx load balancing and traffic weights (CueNginx).</summary>
    CueNginx,

    /// <summary>A mix of the above: each component names its own type (<see cref="ComponentSpec.Type"/>) and is served by that type's manager.</summary>
    HybridInfrastructure,
}
