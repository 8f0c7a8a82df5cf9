namespace Bpi.Orchestration;

/// <summary>The kind of deployment, in the vocabulary of the seed design.</summary>
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

    /// <summary>A mix of the above.</summary>
    HybridInfrastructure,
}
