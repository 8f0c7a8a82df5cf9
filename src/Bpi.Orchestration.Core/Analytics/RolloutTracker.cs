using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration;

/// <summary>
/// Follows one rollout from its request to its end through the deployment's state changes, and writes its
/// <see cref="RolloutReport"/>. Called under the entry's save lock, so state changes arrive one at a time and in order.
/// </summary>
internal sealed class RolloutTracker(RolloutWork work, DateTimeOffset requestedAt)
{
    private DateTimeOffset? _startedAt;
    private DateTimeOffset? _pausedSince;
    private TimeSpan _paused;
    private int _steps;
    private int _rollbacks;
    private bool _ended;

    public void StepCompleted() => Interlocked.Increment(ref _steps);

    /// <summary>Applies a state change; returns the report when it ends the rollout, <see langword="null"/> otherwise.</summary>
    public RolloutReport? OnState(DeploymentRecord record, DateTimeOffset at)
    {
        if (_ended)
        {
            return null;
        }

        var state = record.State;
        if (_pausedSince is { } since && state != DeploymentState.Paused)
        {
            _paused += at - since;
            _pausedSince = null;
        }

        switch (state)
        {
            case DeploymentState.Deploying:
                _startedAt ??= at;
                return null;
            case DeploymentState.Paused:
                _startedAt ??= at;
                _pausedSince ??= at;
                return null;
            case DeploymentState.RollingBack:
                _startedAt ??= at;
                _rollbacks = 1;
                return null;
            case DeploymentState.Running:
                return End(record, at, RolloutOutcome.Promoted);
            case DeploymentState.RolledBack:
                return End(record, at, work.Control.IsAborted ? RolloutOutcome.Aborted : RolloutOutcome.RolledBack);
            case DeploymentState.Failed:
                return End(record, at, work.Control.IsAborted ? RolloutOutcome.Aborted : RolloutOutcome.Failed);
            case DeploymentState.Destroyed:
                return End(record, at, RolloutOutcome.Aborted);
            default:
                return null;
        }
    }

    private RolloutReport End(DeploymentRecord record, DateTimeOffset at, RolloutOutcome outcome)
    {
        _ended = true;
        return Report(record, at, outcome);
    }

    private RolloutReport Report(DeploymentRecord record, DateTimeOffset end, RolloutOutcome outcome)
    {
        var revision = record.FindRevision(work.ToRevision);
        var spec = revision?.Spec ?? record.CurrentSpec;
        var start = _startedAt ?? requestedAt;
        var paused = _paused + (_pausedSince is { } since ? end - since : TimeSpan.Zero);
        var duration = end - start;
        return new RolloutReport
        {
            DeploymentId = record.Id,
            AppId = spec.AppId,
            Environment = spec.Environment,
            Kind = work.Kind,
            Revision = work.ToRevision,
            Strategy = revision?.Spec.Strategy.Name,
            RequestedBy = work.RequestedBy,
            RequestedAt = requestedAt,
            StartedAt = _startedAt,
            EndedAt = end,
            Duration = duration,
            PausedTime = paused,
            ActiveTime = duration - paused,
            Steps = Volatile.Read(ref _steps),
            Outcome = outcome,
            RollbackCount = _rollbacks,
            Reason = outcome == RolloutOutcome.Promoted ? null : record.Message,
        };
    }
}
