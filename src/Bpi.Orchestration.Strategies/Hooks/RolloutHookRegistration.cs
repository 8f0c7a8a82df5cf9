namespace Bpi.Orchestration.Strategies.Hooks;

/// <summary>A hook implemented in the host: runs with the rollout's details; throwing fails the hook.</summary>
/// <param name="context">What the hook runs for.</param>
/// <param name="cancellationToken">Cancelled at the hook's timeout or when the rollout stops.</param>
/// <returns>A task that completes when the hook is done.</returns>
public delegate ValueTask RolloutHook(RolloutHookContext context, CancellationToken cancellationToken);

/// <summary>What a hook runs for.</summary>
/// <param name="DeploymentId">The deployment id.</param>
/// <param name="DeploymentName">The deployment name.</param>
/// <param name="AppId">The application.</param>
/// <param name="Environment">The environment.</param>
/// <param name="Phase">When the hook runs.</param>
/// <param name="FromRevision">The revision the plan leaves, if any.</param>
/// <param name="ToRevision">The revision the plan reaches (0 when a failed first deployment is removed).</param>
/// <param name="RequestedBy">Who asked for the rollout.</param>
public sealed record RolloutHookContext(
    string DeploymentId,
    string DeploymentName,
    string AppId,
    string Environment,
    HookPhase Phase,
    int? FromRevision,
    int ToRevision,
    string RequestedBy);

/// <summary>A delegate hook registered under a name.</summary>
internal sealed record NamedRolloutHook(string Name, RolloutHook Hook);
