using System.Globalization;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Telemetry;

namespace Bpi.Orchestration.Strategies.Health;

/// <summary>
/// Wires <see cref="RollbackSettings.HealthFailureRateTrigger"/>: while a rollout waits (pauses, analysis, gates), the
/// instances of the revision being rolled out are checked every poll interval; when the share that is unhealthy or has
/// exited rises above the trigger, the waiting step fails and the automatic-rollback policy applies.
/// </summary>
internal static class HealthGuard
{
    /// <summary>Runs <paramref name="work"/> while watching the health of the new revision; a tripped trigger cancels the work and throws.</summary>
    public static async Task<T> GuardAsync<T>(RolloutStepContext context, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        if (context.Plan is not { Kind: RolloutKind.Rollout } plan)
        {
            return await work(cancellationToken).ConfigureAwait(false);
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var task = work(cts.Token);
        var watch = WatchAsync(context, plan.ToRevision, cts.Token);
        var first = await Task.WhenAny(task, watch).ConfigureAwait(false);
        if (first == watch && watch.Result is { } tripped)
        {
            Analysis.AnalysisRunner.CancelInline(cts); // on this thread: the watch ends at once, and the rollout goes on to its next wait
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            throw tripped;
        }

        Analysis.AnalysisRunner.CancelInline(cts); // on this thread: the watch ends at once, and the rollout goes on to its next wait
        return await task.ConfigureAwait(false);
    }

    /// <summary>Checks once; returns the failure when the trigger is exceeded.</summary>
    public static async Task<OrchestrationException?> CheckAsync(RolloutStepContext context, int revision, CancellationToken cancellationToken)
    {
        var spec = context.GetRevision(revision).Spec;
        var trigger = spec.Rollback.HealthFailureRateTrigger;
        var instances = await context.Runtime.GetInstancesAsync(context.DeploymentId, null, revision, cancellationToken).ConfigureAwait(false);
        if (instances.Count == 0)
        {
            return null;
        }

        var unhealthy = instances.Count(i => i.IsTerminated || i.Health == InstanceHealth.Unhealthy);
        var rate = (double)unhealthy / instances.Count;
        if (rate <= trigger)
        {
            return null;
        }

        Log.HealthTriggerTripped(context.Logger, context.DeploymentId, unhealthy, instances.Count, revision, trigger);
        return new OrchestrationException(
            OrchestrationErrorKind.DeploymentFailed,
            string.Create(CultureInfo.InvariantCulture, $"Health failure rate {rate * 100:0}% ({unhealthy} of {instances.Count} instances of revision {revision} unhealthy or exited) is above the trigger {trigger * 100:0.#}% (rollback.healthFailureRateTrigger)."));
    }

    private static async Task<OrchestrationException?> WatchAsync(RolloutStepContext context, int revision, CancellationToken cancellationToken)
    {
        var interval = context.GetRevision(revision).Spec.Validation.PollInterval;
        try
        {
            while (true)
            {
                if (await CheckAsync(context, revision, cancellationToken).ConfigureAwait(false) is { } tripped)
                {
                    return tripped;
                }

                await Task.Delay(interval, context.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}

/// <summary>Replaces Core's pause handler: the same pause (timed or until promoted), watched by the <see cref="HealthGuard"/>.</summary>
internal sealed class GuardedPauseHandler : RolloutStepHandler<PauseStep>
{
    protected override async ValueTask ExecuteAsync(PauseStep step, RolloutStepContext context, CancellationToken cancellationToken)
        => await HealthGuard.GuardAsync(
            context,
            async ct =>
            {
                await context.WaitForPromotionAsync(step.Duration, ct).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
}
