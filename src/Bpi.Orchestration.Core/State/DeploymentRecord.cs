using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.State;

/// <summary>
/// What the orchestrator remembers about one deployment: its retained revisions, its state and, while a rollout runs,
/// the executor's cursor. Immutable: every change saves a new record through <see cref="IDeploymentStore"/>.
/// </summary>
public sealed record DeploymentRecord
{
    /// <summary>The deployment id.</summary>
    public required string Id { get; init; }

    /// <summary>The current state.</summary>
    public required DeploymentState State { get; init; }

    /// <summary>The retained revisions, oldest first (at most the spec's history limit, plus the serving and the target revision).</summary>
    public required IReadOnlyList<RevisionSpec> Revisions { get; init; }

    /// <summary>The revision serving traffic, or <see langword="null"/> when none is (a first deployment that has not completed).</summary>
    public int? StableRevision { get; init; }

    /// <summary>The revision being rolled out, or <see langword="null"/> when no rollout is running.</summary>
    public int? TargetRevision { get; init; }

    /// <summary>The executor's position in the running plan, or <see langword="null"/> when no plan runs.</summary>
    public RolloutCursor? Cursor { get; init; }

    /// <summary>When the deployment was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the record last changed.</summary>
    public required DateTimeOffset UpdatedAt { get => _updatedAt; init => _updatedAt = value; }

    /// <summary>When the last rollout ended (successfully or not).</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>Who created the deployment.</summary>
    public required string CreatedBy { get; init; }

    /// <summary>The resources the ledger holds for the deployment.</summary>
    public ResourceRequirements Allocation { get; init; } = ResourceRequirements.None;

    /// <summary>The security score of the last gate evaluation, or <see langword="null"/> when no gate is configured.</summary>
    public double? SecurityScore { get; init; }

    /// <summary>Why the last rollout failed or was rolled back; <see langword="null"/> after a success.</summary>
    public string? Message { get; init; }

    /// <summary>How many times a rollout of this deployment has been rolled back.</summary>
    public int RollbackCount { get; init; }

    /// <summary>The rollouts that ended, oldest first, at most <see cref="OrchestrationOptions.RolloutHistoryLimit"/>.</summary>
    public IReadOnlyList<RolloutReport> History { get => _history; init => _history = value; }

    /// <summary>
    /// The stored version (optimistic concurrency): 0 for a record never stored; the store gives every successful save
    /// the next version. A save is refused with <see cref="OrchestrationErrorKind.Conflict"/> when the stored version is
    /// not the one the record was read at (see <see cref="IDeploymentStore.SaveAsync"/>).
    /// </summary>
    public long Version { get => _version; init => _version = value; }

    /// <summary>
    /// The fencing token of the instance that writes (or wrote) this version: 0 for a host that shares its state with no
    /// other instance; with shared state, the token of the instance's lease on the deployment (it grows with every new
    /// owner). A store refuses a save whose token is lower than the stored one, so an instance that lost the deployment
    /// can no longer write it.
    /// </summary>
    public long FencingToken { get => _fencingToken; init => _fencingToken = value; }

    /// <summary>
    /// What the autoscaler remembers of each autoscaled component (recent recommendations for the stabilisation windows,
    /// recent scale changes for the rate policies), so an orchestrator that restarts or takes the deployment over goes on
    /// from it instead of starting afresh; <see langword="null"/> when nothing is remembered.
    /// </summary>
    public IReadOnlyList<AutoscalerMemory>? Autoscalers { get; init; }

    private IReadOnlyList<RolloutReport> _history = [];
    private DateTimeOffset _updatedAt;
    private long _version;
    private long _fencingToken;

    /// <summary>Stamps a copy the engine just made and has not published yet, so an update costs one copy, not two.</summary>
    internal DeploymentRecord Touch(DateTimeOffset now, long fencingToken)
    {
        _updatedAt = now;
        _fencingToken = fencingToken;
        return this;
    }

    /// <summary>Sets the history of a copy the engine just made and has not published yet (a rollout's ending), so it is not copied again.</summary>
    internal DeploymentRecord WithHistoryInPlace(IReadOnlyList<RolloutReport> history)
    {
        _history = history;
        return this;
    }

    /// <summary>Stamps the version a store just gave this copy (not yet published).</summary>
    internal DeploymentRecord StoredAs(long version)
    {
        _version = version;
        return this;
    }

    /// <summary>The spec of a retained revision.</summary>
    /// <param name="number">The revision number.</param>
    /// <returns>The revision, or <see langword="null"/> when it is not retained.</returns>
    public RevisionSpec? FindRevision(int number)
    {
        // By index: a foreach over the interface would allocate an enumerator, and this runs several times per step.
        var revisions = Revisions;
        for (var i = 0; i < revisions.Count; i++)
        {
            if (revisions[i].Number == number)
            {
                return revisions[i];
            }
        }

        return null;
    }

    /// <summary>The spec the deployment is heading for: the target revision's while rolling out, otherwise the stable one's (or the newest).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public DeploymentSpec CurrentSpec
        => (TargetRevision is { } t ? FindRevision(t) : null)?.Spec
           ?? (StableRevision is { } s ? FindRevision(s) : null)?.Spec
           ?? Revisions[^1].Spec;

    /// <summary>The highest revision number ever created.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int LatestRevision => Revisions.Count == 0 ? 0 : Revisions.Max(r => r.Number);
}

/// <summary>The executor's position in a running plan: enough to resume it after a crash (plans are deterministic).</summary>
/// <param name="Kind">What the plan does.</param>
/// <param name="FromRevision">The revision serving when the plan started.</param>
/// <param name="ToRevision">The revision the plan rolls out (for a rollback: the one being rolled back).</param>
/// <param name="StepIndex">The index of the next step to run: steps before it have completed. Steps that only observe (waiting until instances are ready) store no cursor of their own, so the step at this index may have completed too when it is one; a resume runs it again, which changes nothing.</param>
/// <param name="TotalSteps">The number of steps in the plan.</param>
/// <param name="FailedAtStep">For a rollback plan: the step of the rollout that failed.</param>
public sealed record RolloutCursor(RolloutKind Kind, int? FromRevision, int ToRevision, int StepIndex, int TotalSteps, int? FailedAtStep = null);

/// <summary>The autoscaler's memory of one component, stored with the deployment (<see cref="DeploymentRecord.Autoscalers"/>).</summary>
/// <param name="ComponentId">The component.</param>
/// <param name="Revision">The serving revision the memory is about; a new revision starts afresh.</param>
/// <param name="Recommendations">Recent recommendations (the replica count the metrics asked for), oldest first.</param>
/// <param name="Scales">Recent applied changes of the count (positive: added, negative: removed), oldest first.</param>
public sealed record AutoscalerMemory(string ComponentId, int Revision, IReadOnlyList<AutoscalerSample> Recommendations, IReadOnlyList<AutoscalerSample> Scales);

/// <summary>One remembered figure of the autoscaler.</summary>
/// <param name="At">When.</param>
/// <param name="Value">A replica count (a recommendation) or a change of it (a scale).</param>
public sealed record AutoscalerSample(DateTimeOffset At, int Value);
