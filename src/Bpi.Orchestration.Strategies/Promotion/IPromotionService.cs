namespace Bpi.Orchestration.Strategies.Promotion;

/// <summary>
/// Promotes releases through the environments of a <see cref="Lifecycle"/>: promoting deploys the same release (the same
/// spec, with the target environment) to the next environment, after that environment's gate is approved and only when
/// every earlier environment that is required to progress succeeded. Environments with automatic deployment follow by
/// themselves. Every request, approval and outcome is audited and kept in the promotion history.
/// </summary>
public interface IPromotionService
{
    /// <summary>Registers a release and promotes it into the lifecycle's first environment.</summary>
    /// <param name="lifecycle">The lifecycle.</param>
    /// <param name="version">The release's version, unique within the lifecycle.</param>
    /// <param name="spec">The release's spec; its environment is replaced by each target environment.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The promotion into the first environment.</returns>
    Task<PromotionRecord> CreateReleaseAsync(string lifecycle, string version, DeploymentSpec spec, CancellationToken cancellationToken = default);

    /// <summary>Promotes a release to <paramref name="environment"/>, or to the environment after the furthest one it succeeded in.</summary>
    /// <param name="lifecycle">The lifecycle.</param>
    /// <param name="version">The release.</param>
    /// <param name="environment">The target environment, or <see langword="null"/> for the next one.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The promotion, waiting for approval or deploying.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.Conflict"/> when an earlier required environment has not succeeded, or a promotion there is still open; <see cref="OrchestrationErrorKind.NotFound"/> for an unknown lifecycle, release or environment.</exception>
    Task<PromotionRecord> PromoteAsync(string lifecycle, string version, string? environment = null, CancellationToken cancellationToken = default);

    /// <summary>Approves a promotion waiting at its environment's gate, as <see cref="OrchestrationActor.Current"/>.</summary>
    /// <param name="promotionId">The promotion.</param>
    /// <param name="comment">An optional comment for the history and the audit trail.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The promotion after the approval.</returns>
    Task<PromotionRecord> ApproveAsync(string promotionId, string? comment = null, CancellationToken cancellationToken = default);

    /// <summary>Rejects a promotion waiting at its environment's gate, as <see cref="OrchestrationActor.Current"/>.</summary>
    /// <param name="promotionId">The promotion.</param>
    /// <param name="comment">An optional comment.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The rejected promotion.</returns>
    Task<PromotionRecord> RejectAsync(string promotionId, string? comment = null, CancellationToken cancellationToken = default);

    /// <summary>Returns the promotion history of a lifecycle (optionally of one release), oldest first.</summary>
    /// <param name="lifecycle">The lifecycle.</param>
    /// <param name="version">Only this release, or all when <see langword="null"/>.</param>
    /// <returns>The promotions.</returns>
    IReadOnlyList<PromotionRecord> GetHistory(string lifecycle, string? version = null);

    /// <summary>Waits until a promotion has ended (succeeded, failed or rejected).</summary>
    /// <param name="promotionId">The promotion.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The ended promotion.</returns>
    Task<PromotionRecord> WaitForCompletionAsync(string promotionId, CancellationToken cancellationToken = default);
}

/// <summary>One promotion of a release into an environment.</summary>
public sealed record PromotionRecord
{
    /// <summary>The promotion's id.</summary>
    public required string Id { get; init; }

    /// <summary>The lifecycle.</summary>
    public required string Lifecycle { get; init; }

    /// <summary>The release.</summary>
    public required string Version { get; init; }

    /// <summary>The target environment.</summary>
    public required string Environment { get; init; }

    /// <summary>Where the promotion is.</summary>
    public required PromotionState State { get; init; }

    /// <summary>Who requested it (<c>system</c> for automatic deployments).</summary>
    public required string RequestedBy { get; init; }

    /// <summary>When it was requested.</summary>
    public required DateTimeOffset RequestedAt { get; init; }

    /// <summary>The approvals given, in order.</summary>
    public IReadOnlyList<PromotionApproval> Approvals { get; init; } = [];

    /// <summary>The deployment in the target environment, once deploying.</summary>
    public string? DeploymentId { get; init; }

    /// <summary>The revision rolled out there, once deploying.</summary>
    public int? Revision { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>Why it failed or was rejected.</summary>
    public string? Message { get; init; }
}

/// <summary>One approval of a promotion.</summary>
/// <param name="Actor">Who approved.</param>
/// <param name="Comment">Their comment.</param>
/// <param name="At">When.</param>
public sealed record PromotionApproval(string Actor, string? Comment, DateTimeOffset At);

/// <summary>Where a promotion is.</summary>
public enum PromotionState
{
    /// <summary>Waiting for the environment's gate.</summary>
    WaitingForApproval = 0,

    /// <summary>Rolling out in the target environment.</summary>
    Deploying,

    /// <summary>The release serves in the target environment.</summary>
    Succeeded,

    /// <summary>The rollout failed (and was rolled back).</summary>
    Failed,

    /// <summary>Someone rejected it at the gate.</summary>
    Rejected,
}
