namespace Bpi.Orchestration;

/// <summary>What went wrong, in terms a caller can act on.</summary>
public enum OrchestrationErrorKind
{
    /// <summary>An unexpected error the SDK could not classify.</summary>
    Unknown = 0,

    /// <summary>A spec, option or argument is invalid; <see cref="OrchestrationException.Errors"/> lists every problem.</summary>
    InvalidConfiguration,

    /// <summary>The deployment does not fit the remaining capacity of the resource ledger; nothing was reserved.</summary>
    InsufficientResources,

    /// <summary>A rollout failed; the previous revision (if any) keeps serving.</summary>
    DeploymentFailed,

    /// <summary>The security gate refused the deployment; the findings are listed.</summary>
    SecurityValidationFailed,

    /// <summary>A network, router or proxy could not be set up.</summary>
    NetworkSetupFailed,

    /// <summary>A workload instance (container or process) failed to start.</summary>
    ContainerStartupFailed,

    /// <summary>A deployment, revision or engine resource does not exist.</summary>
    NotFound,

    /// <summary>The operation conflicts with the current state (for example, updating a deployment that is still rolling out).</summary>
    Conflict,

    /// <summary>An operation or a rollout step ran past its deadline.</summary>
    Timeout,

    /// <summary>The acting identity is not allowed to perform the operation.</summary>
    Unauthorized,

    /// <summary>A runtime or engine is unreachable or answered with a transient failure; retrying may succeed.</summary>
    RuntimeUnavailable,

    /// <summary>The orchestrator is not started, or has been stopped or disposed.</summary>
    NotRunning,

    /// <summary>
    /// A workload's image could not be pulled from its registry (unknown image or tag, credentials refused, registry
    /// unreachable), or is absent and the pull policy forbids pulling. The message names the image and the registry's answer.
    /// </summary>
    ImagePullFailed,
}
