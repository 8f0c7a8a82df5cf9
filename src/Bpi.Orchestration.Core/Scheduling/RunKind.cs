using System.Globalization;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration;

/// <summary>
/// What differs between the kinds of run the <see cref="RolloutRunner"/> starts — a rollout, a scale, and an
/// interrupted rollback it continues: which revision the run moves away from, how it is planned, the way back when a
/// step fails, where a run interrupted by a restart resumes, and how a finished run is described. The runner itself
/// reads the same for every kind; each kind's rules are here, side by side. (Destroy and clean-up plans are run by
/// the teardown path; self-healing repairs by the healer.)
/// </summary>
internal abstract class RunKind
{
    private static readonly RunKind RolloutRun = new RolloutKindRules();
    private static readonly RunKind ScaleRun = new ScaleKindRules();
    private static readonly RunKind RollbackRun = new RollbackKindRules();

    /// <summary>Whether the run continues an interrupted rollback: its plan is the way back, run as a rollback.</summary>
    public virtual bool ContinuesRollback => false;

    /// <summary>The rules of <paramref name="kind"/>; every other kind runs by the rollout's.</summary>
    public static RunKind Of(RolloutKind kind) => kind switch
    {
        RolloutKind.Scale => ScaleRun,
        RolloutKind.Rollback => RollbackRun,
        _ => RolloutRun,
    };

    /// <summary>The revision the run moves away from, which a failure restores (<see langword="null"/> for a first rollout).</summary>
    public virtual RevisionSpec? Previous(RolloutWork work, DeploymentRecord record, RevisionSpec desired)
        => work.FromRevision is { } from ? record.FindRevision(from) : null;

    /// <summary>The spec a run replaced in place and that undoing it (also before it started) puts back; <see langword="null"/> when it replaced none.</summary>
    public virtual DeploymentSpec? SpecReplacedInPlace(RolloutWork work) => null;

    /// <summary>The run's plan.</summary>
    public virtual ValueTask<RolloutPlan> PlanAsync(RolloutRunner runner, DeploymentEntry entry, IRolloutStrategy strategy, RolloutContext context)
        => ValueTask.FromResult(strategy.Plan(context));

    /// <summary>The way back after step <paramref name="failedAtStep"/> failed (it may first restore the record).</summary>
    public virtual ValueTask<RolloutPlan> PlanWayBackAsync(DeploymentEntry entry, IRolloutStrategy strategy, RolloutContext context, int failedAtStep)
        => ValueTask.FromResult(strategy.PlanRollback(context, failedAtStep));

    /// <summary>Where a run interrupted at <paramref name="cursor"/> resumes; <see langword="null"/> when there is no target left.</summary>
    public virtual ResumePoint? ResumeAt(RolloutCursor? cursor, DeploymentRecord record)
        => (cursor?.ToRevision ?? record.TargetRevision) is { } to
            ? new ResumePoint(cursor?.FromRevision ?? record.StableRevision, to, cursor?.StepIndex ?? 0, null)
            : null;

    /// <summary>The record's message when the run finished.</summary>
    public virtual string CompletedMessage(int revision)
        => revision == 1 ? "revision 1 is serving" : string.Create(CultureInfo.InvariantCulture, $"revision {revision} is serving");

    /// <summary>Where a resumed run starts: its revisions, its first step and, for a scale, the spec it replaced.</summary>
    internal readonly record struct ResumePoint(int? From, int To, int StartIndex, DeploymentSpec? PreviousSpec);

    /// <summary>A rollout (and every kind without rules of its own): the strategy plans the way there and back.</summary>
    private sealed class RolloutKindRules : RunKind;

    /// <summary>
    /// A scale changes the serving revision in place: it is planned from what the runtime reports (so a resumed scale
    /// starts over), and undone by putting the revision's previous spec back and converging to it.
    /// </summary>
    private sealed class ScaleKindRules : RunKind
    {
        public override RevisionSpec? Previous(RolloutWork work, DeploymentRecord record, RevisionSpec desired)
            => new(work.ToRevision, work.PreviousSpec ?? desired.Spec);

        public override DeploymentSpec? SpecReplacedInPlace(RolloutWork work) => work.PreviousSpec;

        public override ValueTask<RolloutPlan> PlanAsync(RolloutRunner runner, DeploymentEntry entry, IRolloutStrategy strategy, RolloutContext context)
            => runner.PlanScaleAsync(entry, context.Desired);

        public override async ValueTask<RolloutPlan> PlanWayBackAsync(DeploymentEntry entry, IRolloutStrategy strategy, RolloutContext context, int failedAtStep)
        {
            var stable = context.Stable!;
            await entry.UpdateAsync(r => r with { Revisions = [.. r.Revisions.Select(x => x.Number == stable.Number ? stable : x)] }).ConfigureAwait(false);
            return PlanPlanner.PlanScale(context.Desired, stable);
        }

        public override ResumePoint? ResumeAt(RolloutCursor? cursor, DeploymentRecord record)
            => (cursor?.ToRevision ?? record.TargetRevision) is { } to
                ? new ResumePoint(cursor?.FromRevision ?? record.StableRevision, to, 0, record.FindRevision(to)?.Spec)
                : null;

        public override string CompletedMessage(int revision) => "scaled";
    }

    /// <summary>A rollback interrupted by a restart: it continues from the revision it was leaving back to the one it restores.</summary>
    private sealed class RollbackKindRules : RunKind
    {
        public override bool ContinuesRollback => true;

        public override ResumePoint? ResumeAt(RolloutCursor? cursor, DeploymentRecord record)
            => (cursor!.FromRevision ?? record.TargetRevision) is { } to
                ? new ResumePoint(cursor.ToRevision == 0 ? null : cursor.ToRevision, to, cursor.StepIndex, null)
                : null;
    }
}
