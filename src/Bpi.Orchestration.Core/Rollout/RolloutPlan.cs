namespace Bpi.Orchestration.Rollout;

/// <summary>An ordered list of steps that takes a deployment from one revision to another. Returned by dry runs.</summary>
/// <param name="DeploymentName">The deployment the plan is for.</param>
/// <param name="Kind">What the plan does.</param>
/// <param name="Strategy">The strategy that made it.</param>
/// <param name="FromRevision">The revision serving before the plan runs, or <see langword="null"/> for a first deployment.</param>
/// <param name="ToRevision">The revision serving when the plan completes.</param>
/// <param name="Steps">The steps, in order; a step's index is its position.</param>
public sealed record RolloutPlan(
    string DeploymentName,
    RolloutKind Kind,
    string Strategy,
    int? FromRevision,
    int ToRevision,
    IReadOnlyList<RolloutStep> Steps)
{
    /// <summary>The plan as numbered lines, one per step, for people.</summary>
    /// <returns>The description.</returns>
    public string Describe()
    {
        var lines = new List<string>(Steps.Count + 1)
        {
            $"{Kind} of '{DeploymentName}' with {Strategy}: revision {FromRevision?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"} -> {ToRevision}",
        };
        for (var i = 0; i < Steps.Count; i++)
        {
            lines.Add($"  {i + 1}. {Steps[i].Describe()}");
        }

        return string.Join(Environment.NewLine, lines);
    }
}

/// <summary>What a rollout plan does.</summary>
public enum RolloutKind
{
    /// <summary>Roll out a new revision.</summary>
    Rollout = 0,

    /// <summary>Return to the last good revision after a failure or an abort.</summary>
    Rollback,

    /// <summary>Change the replica count of the serving revision.</summary>
    Scale,

    /// <summary>Tear a deployment down: scale every revision to zero and remove its routes.</summary>
    Destroy,

    /// <summary>Scale revisions that should no longer run to zero after a plan ended.</summary>
    Cleanup,

    /// <summary>
    /// Repair a running deployment between rollouts (self-healing): replace instances that exited or fail their liveness
    /// check, recreate missing ones, take instances that are not ready out of traffic.
    /// </summary>
    Repair,
}
