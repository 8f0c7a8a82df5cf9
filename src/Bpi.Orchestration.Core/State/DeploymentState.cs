namespace Bpi.Orchestration;

/// <summary>Where a deployment is in its life.</summary>
public enum DeploymentState
{
    /// <summary>Accepted; next it starts (<see cref="Deploying"/>) or, when every slot is taken, waits (<see cref="Queued"/>).</summary>
    Pending = 0,

    /// <summary>Waiting for a free rollout slot (see <see cref="OrchestrationOptions.MaxConcurrentDeployments"/>); a rollout that finds one free skips this state.</summary>
    Queued,

    /// <summary>A rollout is running.</summary>
    Deploying,

    /// <summary>Serving its stable revision; no rollout is running.</summary>
    Running,

    /// <summary>A rollout is paused by a person, or waits for promotion or approval.</summary>
    Paused,

    /// <summary>A failed or aborted rollout is being rolled back.</summary>
    RollingBack,

    /// <summary>The rollout failed and nothing is serving (a first deployment), or the rollback itself failed.</summary>
    Failed,

    /// <summary>The last rollout failed or was aborted and was rolled back; the previous revision is serving.</summary>
    RolledBack,

    /// <summary>Being destroyed.</summary>
    Destroying,

    /// <summary>Destroyed: nothing of it is left on the runtime and its resources are released.</summary>
    Destroyed,
}

/// <summary>Helpers on <see cref="DeploymentState"/>.</summary>
public static class DeploymentStateExtensions
{
    /// <summary>Whether no rollout or destroy is in progress, so the deployment accepts a new operation.</summary>
    /// <param name="state">The state.</param>
    /// <returns><see langword="true"/> for <see cref="DeploymentState.Running"/>, <see cref="DeploymentState.Failed"/> and <see cref="DeploymentState.RolledBack"/>.</returns>
    public static bool IsSettled(this DeploymentState state)
        => state is DeploymentState.Running or DeploymentState.Failed or DeploymentState.RolledBack or DeploymentState.Destroyed;

    /// <summary>Whether the deployment still exists (is not destroyed).</summary>
    /// <param name="state">The state.</param>
    /// <returns><see langword="false"/> only for <see cref="DeploymentState.Destroyed"/>.</returns>
    public static bool IsLive(this DeploymentState state) => state != DeploymentState.Destroyed;
}

/// <summary>The states' names, made once: the engine writes them into every state change's audit entry.</summary>
internal static class StateNames
{
    private static readonly string[] Names = Enum.GetNames<DeploymentState>();
    private static readonly string[] LowerNames = [.. Names.Select(n => n.ToLowerInvariant())];
    private static readonly string[] TypeNames = Enum.GetNames<DeploymentType>();

    // The states are numbered 0, 1, 2, … in declaration order, which is the order GetNames returns.
    public static string Of(DeploymentState state) => (uint)state < (uint)Names.Length ? Names[(int)state] : state.ToString();

    public static string Lower(DeploymentState state) => (uint)state < (uint)LowerNames.Length ? LowerNames[(int)state] : state.ToString().ToLowerInvariant();

    /// <summary>A deployment type's name (types are numbered 0, 1, 2, … too).</summary>
    public static string Of(DeploymentType type) => (uint)type < (uint)TypeNames.Length ? TypeNames[(int)type] : type.ToString();

    /// <summary>A rollout kind's name, without boxing the value as <see cref="Enum.ToString()"/> does.</summary>
    public static string Of(Rollout.RolloutKind kind) => kind switch
    {
        Rollout.RolloutKind.Rollout => nameof(Rollout.RolloutKind.Rollout),
        Rollout.RolloutKind.Rollback => nameof(Rollout.RolloutKind.Rollback),
        Rollout.RolloutKind.Scale => nameof(Rollout.RolloutKind.Scale),
        Rollout.RolloutKind.Destroy => nameof(Rollout.RolloutKind.Destroy),
        Rollout.RolloutKind.Cleanup => nameof(Rollout.RolloutKind.Cleanup),
        Rollout.RolloutKind.Repair => nameof(Rollout.RolloutKind.Repair),
        _ => kind.ToString(),
    };
}
