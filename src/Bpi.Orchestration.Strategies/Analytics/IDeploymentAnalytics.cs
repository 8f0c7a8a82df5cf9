namespace Bpi.Orchestration.Strategies.Analytics;

/// <summary>
/// Deployment analytics, collected from the orchestrator's events from the moment the service is first resolved: per
/// rollout its duration split into active and paused time, its steps, outcome and rollbacks; per application and
/// environment the four DORA figures. The same figures are published on the <c>Bpi.Orchestration</c> meter.
/// </summary>
public interface IDeploymentAnalytics
{
    /// <summary>The rollouts of one deployment seen so far, oldest first (a rollout in progress has no outcome yet).</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <returns>The rollouts.</returns>
    IReadOnlyList<RolloutReport> GetRollouts(string deploymentId);

    /// <summary>The DORA figures of an application in an environment over a window ending now.</summary>
    /// <param name="appId">The application.</param>
    /// <param name="environment">The environment.</param>
    /// <param name="window">How far back to look; <see langword="null"/> uses <see cref="AnalyticsOptions.Window"/>.</param>
    /// <returns>The figures.</returns>
    DoraReport GetDora(string appId, string environment, TimeSpan? window = null);
}

/// <summary>Options of the analytics.</summary>
public sealed class AnalyticsOptions
{
    /// <summary>The default window of the DORA figures (and of the published gauges).</summary>
    /// <value>The default value is 30 days.</value>
    public TimeSpan Window { get; set; } = TimeSpan.FromDays(30);
}

/// <summary>One rollout of a deployment.</summary>
public sealed record RolloutReport
{
    /// <summary>The deployment.</summary>
    public required string DeploymentId { get; init; }

    /// <summary>The application.</summary>
    public required string AppId { get; init; }

    /// <summary>The environment.</summary>
    public required string Environment { get; init; }

    /// <summary>The revision rolled out, when known.</summary>
    public int? Revision { get; init; }

    /// <summary>The strategy.</summary>
    public string? Strategy { get; init; }

    /// <summary>Whether it only changed replica counts (not counted as a deployment by the DORA figures).</summary>
    public bool IsScale { get; init; }

    /// <summary>When it was requested (queued).</summary>
    public required DateTimeOffset RequestedAt { get; init; }

    /// <summary>When its first step ran.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>From start to end.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The part of <see cref="Duration"/> spent working.</summary>
    public TimeSpan ActiveTime { get; init; }

    /// <summary>The part of <see cref="Duration"/> spent paused (by a person, at a pause step or a gate).</summary>
    public TimeSpan PausedTime { get; init; }

    /// <summary>Steps completed (of the rollout and of its rollback).</summary>
    public int Steps { get; init; }

    /// <summary>How it ended, or <see langword="null"/> while it runs.</summary>
    public RolloutOutcome? Outcome { get; init; }

    /// <summary>How many rollbacks it went through (0 or 1).</summary>
    public int RollbackCount { get; init; }
}

/// <summary>How a rollout ended (the labels of Argo Rollouts' metrics).</summary>
public enum RolloutOutcome
{
    /// <summary>The new revision serves.</summary>
    Promoted = 0,

    /// <summary>A person aborted it; it was rolled back.</summary>
    Aborted,

    /// <summary>It failed and was rolled back.</summary>
    RolledBack,

    /// <summary>It failed and nothing was rolled back (a first deployment, automatic rollback off, or a failed rollback).</summary>
    Failed,
}

/// <summary>The four DORA figures (and the success rate) of an application in an environment.</summary>
/// <param name="AppId">The application.</param>
/// <param name="Environment">The environment.</param>
/// <param name="Window">The window.</param>
/// <param name="Rollouts">Rollouts (not scales) that ended in the window.</param>
/// <param name="SuccessRate">The share that was promoted (NaN without rollouts).</param>
/// <param name="DeploymentsPerDay">Promoted rollouts per day over the window.</param>
/// <param name="LeadTime">The median time from request to serving of promoted rollouts (null without any).</param>
/// <param name="ChangeFailureRate">The share of rollouts that failed or were rolled back (aborts count as failures too; NaN without rollouts).</param>
/// <param name="TimeToRestore">The median time from a failed rollout to the next promoted one (null without any).</param>
public sealed record DoraReport(
    string AppId,
    string Environment,
    TimeSpan Window,
    int Rollouts,
    double SuccessRate,
    double DeploymentsPerDay,
    TimeSpan? LeadTime,
    double ChangeFailureRate,
    TimeSpan? TimeToRestore);
