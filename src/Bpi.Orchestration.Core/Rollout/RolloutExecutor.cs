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

    public async Task RunAsync(IRolloutObserver observer, RolloutStepContext context, RolloutPlan plan, int startIndex, CancellationToken cancellationToken)
    {
        // The span names are only built when someone listens: a rollout should not pay for tracing nobody collects.
        var traced = OrchestrationTelemetry.ActivitySource.HasListeners();
        using var activity = traced ? OrchestrationTelemetry.ActivitySource.StartActivity("bpi.orchestration.plan " + StateNames.Of(plan.Kind)) : null;
        activity?.SetTag("deployment.name", plan.DeploymentName);
        activity?.SetTag("strategy.name", plan.Strategy);

        context.Plan = plan;
        await observer.OnPlanStartedAsync(plan, startIndex, cancellationToken).ConfigureAwait(false);
        for (var i = startIndex; i < plan.Steps.Count; i++)
        {
            await context.WaitWhilePausedAsync(cancellationToken).ConfigureAwait(false);

            // A step boundary: an instance that lost the deployment (paused past its lease) stops here, before the step.
            await context.EnsureOwnedAsync(cancellationToken).ConfigureAwait(false);
            var step = plan.Steps[i];
            if (!_handlers.TryGetValue(step.GetType(), out var handler))
            {
                throw new RolloutStepFailedException(i, new OrchestrationException(
                    OrchestrationErrorKind.InvalidConfiguration,
                    $"No handler is registered for rollout step '{step.GetType().Name}'; add the package that provides it (for example .AddStrategies()) or register one with AddStepHandler."));
            }

            await observer.OnStepStartedAsync(plan, i, cancellationToken).ConfigureAwait(false);
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
            await observer.OnStepCompletedAsync(plan, i, cancellationToken).ConfigureAwait(false);
        }

        await observer.OnPlanCompletedAsync(plan, cancellationToken).ConfigureAwait(false);
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

    ValueTask OnStepStartedAsync(RolloutPlan plan, int index, CancellationToken cancellationToken);

    ValueTask OnStepCompletedAsync(RolloutPlan plan, int index, CancellationToken cancellationToken);

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
