namespace Bpi.Orchestration;

/// <summary>Health validation and progress settings of a deployment.</summary>
public sealed record ValidationSettings
{
    /// <summary>Whether instances must pass their health check before they count as ready.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool HealthValidation { get; init; } = true;

    /// <summary>How long a rollout may go without progress before it fails (as Kubernetes' progressDeadlineSeconds).</summary>
    /// <value>The default value is 10 minutes.</value>
    public TimeSpan ProgressDeadline { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a new instance must stay ready before it counts as available.</summary>
    /// <value>The default value is zero.</value>
    public TimeSpan MinReadyTime { get; init; } = TimeSpan.Zero;

    /// <summary>How often the executor re-checks instances while waiting for them to become ready.</summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>Rollback settings of a deployment.</summary>
public sealed record RollbackSettings
{
    /// <summary>Whether a failed rollout is rolled back automatically to the last good revision.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Automatic { get; init; } = true;

    /// <summary>How many old revisions are kept for manual rollback.</summary>
    /// <value>The default value is 10.</value>
    public int HistoryLimit { get; init; } = 10;

    /// <summary>The fraction (0–1) of unhealthy instances above which a running rollout is failed and rolled back.</summary>
    /// <value>The default value is 0.5.</value>
    public double HealthFailureRateTrigger { get; init; } = 0.5;
}
