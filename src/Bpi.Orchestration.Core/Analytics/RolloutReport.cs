using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration;

/// <summary>
/// One rollout of a deployment, as <c>kubectl rollout history</c> would show it: what was rolled out, by whom, how it
/// ended, and how its time split between working and waiting. Kept in the deployment's record (so it survives
/// restarts with a durable store), newest last, up to <see cref="OrchestrationOptions.RolloutHistoryLimit"/>.
/// </summary>
public sealed record RolloutReport
{
    /// <summary>The deployment.</summary>
    public required string DeploymentId { get; init; }

    /// <summary>The application.</summary>
    public required string AppId { get; init; }

    /// <summary>The environment.</summary>
    public required string Environment { get; init; }

    /// <summary>What the rollout did: a new revision, a scale, or a resumed rollback.</summary>
    public RolloutKind Kind { get; init; }

    /// <summary>The revision rolled out (for a scale: the serving revision).</summary>
    public int Revision { get; init; }

    /// <summary>The strategy, or <see langword="null"/> when the revision is no longer retained.</summary>
    public string? Strategy { get; init; }

    /// <summary>Whether it only changed replica counts (not counted by the DORA figures).</summary>
    public bool IsScale => Kind == RolloutKind.Scale;

    /// <summary>Who asked for it (the ambient <see cref="OrchestrationActor"/> of the request).</summary>
    public required string RequestedBy { get; init; }

    /// <summary>When it was requested (queued).</summary>
    public required DateTimeOffset RequestedAt { get; init; }

    /// <summary>When its first step ran, or <see langword="null"/> when it ended before starting (aborted in the queue).</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it ended.</summary>
    public required DateTimeOffset EndedAt { get; init; }

    /// <summary>From start (or request, when it never started) to end.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The part of <see cref="Duration"/> spent working.</summary>
    public TimeSpan ActiveTime { get; init; }

    /// <summary>The part of <see cref="Duration"/> spent paused: by a person, at a pause step, or at an approval gate.</summary>
    public TimeSpan PausedTime { get; init; }

    /// <summary>Steps completed, of the rollout and of its rollback.</summary>
    public int Steps { get; init; }

    /// <summary>How it ended.</summary>
    public required RolloutOutcome Outcome { get; init; }

    /// <summary>How many rollbacks it went through (0 or 1).</summary>
    public int RollbackCount { get; init; }

    /// <summary>Why it failed or was rolled back; <see langword="null"/> when it was promoted.</summary>
    public string? Reason { get; init; }
}

/// <summary>How a rollout ended (the labels of Argo Rollouts' metrics).</summary>
public enum RolloutOutcome
{
    /// <summary>The new revision serves.</summary>
    Promoted = 0,

    /// <summary>A person aborted it; it was rolled back (or, for a first deployment, nothing serves).</summary>
    Aborted,

    /// <summary>It failed and was rolled back.</summary>
    RolledBack,

    /// <summary>It failed and nothing was rolled back (a first deployment, automatic rollback off, or a failed rollback).</summary>
    Failed,
}

/// <summary>The four DORA figures, and the success rate, of an application in an environment over a window.</summary>
/// <param name="AppId">The application.</param>
/// <param name="Environment">The environment.</param>
/// <param name="Window">The window, ending when the report was made.</param>
/// <param name="Rollouts">Rollouts (not scales) that ended in the window.</param>
/// <param name="SuccessRate">The share that was promoted (NaN without rollouts).</param>
/// <param name="DeploymentsPerDay">Promoted rollouts per day over the window (deployment frequency).</param>
/// <param name="LeadTime">The median time from request to serving of promoted rollouts (<see langword="null"/> without any).</param>
/// <param name="ChangeFailureRate">The share of rollouts that failed, were rolled back or were aborted (NaN without rollouts).</param>
/// <param name="TimeToRestore">The median time from a failed rollout to the next promoted one (<see langword="null"/> without any).</param>
public sealed record DoraReport(
    string AppId,
    string Environment,
    TimeSpan Window,
    int Rollouts,
    double SuccessRate,
    double DeploymentsPerDay,
    TimeSpan? LeadTime,
    double ChangeFailureRate,
    TimeSpan? TimeToRestore)
{
    /// <summary>Computes the figures from the rollouts that ended in the window (scales are left out here).</summary>
    /// <param name="appId">The application.</param>
    /// <param name="environment">The environment.</param>
    /// <param name="window">The window.</param>
    /// <param name="rollouts">Rollouts of the application in the environment; those that ended outside the window or are scales are ignored.</param>
    /// <param name="now">The end of the window.</param>
    /// <returns>The figures.</returns>
    public static DoraReport Compute(string appId, string environment, TimeSpan window, IEnumerable<RolloutReport> rollouts, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(rollouts);
        var ended = rollouts.Where(r => !r.IsScale && r.EndedAt >= now - window && r.EndedAt <= now).OrderBy(r => r.EndedAt).ToList();
        var promoted = ended.Where(r => r.Outcome == RolloutOutcome.Promoted).ToList();
        var failures = ended.Where(r => r.Outcome != RolloutOutcome.Promoted).ToList();
        var restores = new List<TimeSpan>();
        foreach (var failure in failures)
        {
            if (promoted.FirstOrDefault(p => p.EndedAt > failure.EndedAt) is { } fix)
            {
                restores.Add(fix.EndedAt - failure.EndedAt);
            }
        }

        return new DoraReport(
            appId,
            environment,
            window,
            ended.Count,
            ended.Count == 0 ? double.NaN : (double)promoted.Count / ended.Count,
            promoted.Count / Math.Max(window.TotalDays, 1e-9),
            Median([.. promoted.Select(p => p.EndedAt - p.RequestedAt)]),
            ended.Count == 0 ? double.NaN : (double)failures.Count / ended.Count,
            Median(restores));
    }

    private static TimeSpan? Median(List<TimeSpan> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        values.Sort();
        var mid = values.Count / 2;
        return values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }
}
