using System.Diagnostics;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration.Rollout;

/// <summary>
/// Runs every plan: for each step from the stored cursor, wait while paused, announce the step, execute it with the
/// handler registered for its type, store the cursor, announce completion. A failing step stops the plan with
/// <see cref="RolloutStepFailedException"/>; cancellation (abort, stop) stops it with <see cref="OperationCanceledException"/>.
/// </summary>
internal sealed class RolloutExecutor
{
    private readonly Dictionary<Type, IRolloutStepHandler> _handlers;
    private readonly TimeProvider _time;
    private readonly OrchestrationTelemetry _telemetry;

    public RolloutExecutor(IEnumerable<IRolloutStepHandler> handlers, TimeProvider time, OrchestrationTelemetry telemetry)
    {
        // One handler per step type: a second one must replace the first explicitly (ReplaceStepHandler), or the VM does not start.
        _handlers = StepHandlerTable.Build(handlers);

        _time = time;
        _telemetry = telemetry;
    }

    /// <summary>Returns every step type of a plan that has no handler, so a plan can be refused before it starts.</summary>
    public IReadOnlyList<string> FindUnhandledSteps(RolloutPlan plan)
        => [.. plan.Steps.Select(s => s.GetType()).Distinct().Where(t => !_handlers.ContainsKey(t)).Select(t => t.Name)];

    /// <summary>Runs <paramref name="plan"/> from step <paramref name="startIndex"/>.</summary>
    /// <param name="observer">Stores the cursor, publishes and audits each transition.</param>
    /// <param name="context">What the step handlers use.</param>
    /// <param name="plan">The plan.</param>
    /// <param name="startIndex">The first step to run (the stored cursor).</param>
    /// <param name="cancellationToken">Stops the run where it stands.</param>
    /// <param name="startedAt">When the caller just recorded the run's start (the save that set its cursor), if it did: a first step that follows at once is stamped with it.</param>
    public async Task RunAsync(IRolloutObserver observer, RolloutStepContext context, RolloutPlan plan, int startIndex, CancellationToken cancellationToken, DateTimeOffset? startedAt = null)
    {
        // The span names are only built when someone listens: a rollout should not pay for tracing nobody collects.
        var traced = OrchestrationTelemetry.ActivitySource.HasListeners();
        using var activity = traced ? OrchestrationTelemetry.ActivitySource.StartActivity("bpi.orchestration.plan " + StateNames.Of(plan.Kind)) : null;
        activity?.SetTag("deployment.name", plan.DeploymentName);
        activity?.SetTag("strategy.name", plan.Strategy);

        context.Plan = plan;
        try
        {
            await observer.OnPlanStartedAsync(plan, startIndex, cancellationToken).ConfigureAwait(false);
            var completedAt = startedAt;
            for (var i = startIndex; i < plan.Steps.Count; i++)
            {
                // A step that follows the previous one at once (not paused, ownership confirmed without waiting) starts when
                // that one completed, as far as a clock can tell: its start is stamped with that time instead of a new reading.
                var paused = context.WaitWhilePausedAsync(cancellationToken);
                var atOnce = paused.IsCompletedSuccessfully;
                await paused.ConfigureAwait(false);

                // A step boundary: an instance that lost the deployment (paused past its lease) stops here, before the step.
                var owned = context.EnsureOwnedAsync(cancellationToken);
                atOnce &= owned.IsCompletedSuccessfully;
                await owned.ConfigureAwait(false);
                var step = plan.Steps[i];
                if (!_handlers.TryGetValue(step.GetType(), out var handler))
                {
                    throw new RolloutStepFailedException(i, new OrchestrationException(
                        OrchestrationErrorKind.InvalidConfiguration,
                        $"No handler is registered for rollout step '{step.GetType().Name}'; add the package that provides it (for example .AddStrategies()) or register one with AddStepHandler."));
                }

                await observer.OnStepStartedAsync(plan, i, atOnce ? completedAt : null, cancellationToken).ConfigureAwait(false);
                var started = _telemetry.StepDuration.Enabled ? _time.GetTimestamp() : 0;
                using var stepActivity = traced ? OrchestrationTelemetry.ActivitySource.StartActivity("bpi.orchestration.step " + step.Kind) : null;
                try
                {
                    await handler.ExecuteAsync(step, context, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    stepActivity?.SetStatus(ActivityStatusCode.Error, "cancelled");
                    throw;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    var error = ex as OrchestrationException
                        ?? new OrchestrationException(OrchestrationErrorKind.DeploymentFailed, $"Step '{step.Describe()}' failed: {ex.Message}", ex);
                    stepActivity?.SetStatus(ActivityStatusCode.Error, error.Kind.ToString());
                    RecordStep(step, plan, started, error.Kind.ToString());
                    await observer.OnStepFailedAsync(plan, i, error, CancellationToken.None).ConfigureAwait(false);
                    throw new RolloutStepFailedException(i, error);
                }

                RecordStep(step, plan, started, null);
                completedAt = await observer.OnStepCompletedAsync(plan, i, cancellationToken).ConfigureAwait(false);
            }

            await observer.OnPlanCompletedAsync(plan, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // An ended run's plan is not kept by the context (a deployment kept after its destroy, for one).
            context.EndPlan(plan);
        }
    }

    private void RecordStep(RolloutStep step, RolloutPlan plan, long started, string? errorKind)
    {
        if (!_telemetry.StepDuration.Enabled)
        {
            return;
        }

        var tags = new TagList { { "step.kind", step.Kind }, { "strategy.name", plan.Strategy } };
        if (errorKind is not null)
        {
            tags.Add("error.kind", errorKind);
        }

        _telemetry.StepDuration.Record(_time.GetElapsedTime(started).TotalSeconds, tags);
    }
}

/// <summary>Receives the executor's transitions: the VM stores the cursor, publishes events and audits.</summary>
internal interface IRolloutObserver
{
    ValueTask OnPlanStartedAsync(RolloutPlan plan, int startIndex, CancellationToken cancellationToken);

    /// <summary>Step <paramref name="index"/> starts.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="index">The step.</param>
    /// <param name="at">When it starts, when known: the previous step's completion time when it follows that step at once; otherwise <see langword="null"/> (read the clock).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    ValueTask OnStepStartedAsync(RolloutPlan plan, int index, DateTimeOffset? at, CancellationToken cancellationToken);

    /// <summary>Step <paramref name="index"/> completed; returns the time recorded for its completion.</summary>
    ValueTask<DateTimeOffset> OnStepCompletedAsync(RolloutPlan plan, int index, CancellationToken cancellationToken);

    ValueTask OnStepFailedAsync(RolloutPlan plan, int index, OrchestrationException error, CancellationToken cancellationToken);

    ValueTask OnPlanCompletedAsync(RolloutPlan plan, CancellationToken cancellationToken);
}

/// <summary>A step of a plan failed.</summary>
internal sealed class RolloutStepFailedException(int stepIndex, OrchestrationException error)
    : Exception(error.Message, error)
{
    public int StepIndex { get; } = stepIndex;

    public OrchestrationException Error { get; } = error;
}
