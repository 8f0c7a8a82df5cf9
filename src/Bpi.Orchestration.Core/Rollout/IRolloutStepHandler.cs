namespace Bpi.Orchestration.Rollout;

/// <summary>
/// Executes one kind of <see cref="RolloutStep"/>. Core registers handlers for its steps; packages that add steps
/// (analysis, hooks) register theirs with <c>builder.AddStepHandler&lt;T&gt;()</c>; one handler per step type, and a
/// package that takes over a step type says so with <c>builder.ReplaceStepHandler&lt;TStep, THandler&gt;()</c>. A handler must be idempotent (the
/// executor may run a step again after a crash) and throws <see cref="OrchestrationException"/> when the step fails,
/// which starts the rollback.
/// </summary>
public interface IRolloutStepHandler
{
    /// <summary>The step type this handler executes.</summary>
    Type StepType { get; }

    /// <summary>Executes one step.</summary>
    /// <param name="step">The step (of <see cref="StepType"/>).</param>
    /// <param name="context">The deployment, runtime, router, clock and signals.</param>
    /// <param name="cancellationToken">Cancelled when the rollout is aborted or the orchestrator stops.</param>
    /// <returns>A task that completes when the step is done.</returns>
    /// <exception cref="OrchestrationException">The step failed; the message says why.</exception>
    ValueTask ExecuteAsync(RolloutStep step, RolloutStepContext context, CancellationToken cancellationToken);
}

/// <summary>A convenient base for a handler of one step type.</summary>
/// <typeparam name="TStep">The step type.</typeparam>
public abstract class RolloutStepHandler<TStep> : IRolloutStepHandler
    where TStep : RolloutStep
{
    /// <inheritdoc />
    public Type StepType => typeof(TStep);

    /// <inheritdoc />
    public ValueTask ExecuteAsync(RolloutStep step, RolloutStepContext context, CancellationToken cancellationToken)
        => ExecuteAsync((TStep)step, context, cancellationToken);

    /// <summary>Executes one step.</summary>
    /// <param name="step">The step.</param>
    /// <param name="context">The deployment, runtime, router, clock and signals.</param>
    /// <param name="cancellationToken">Cancelled when the rollout is aborted or the orchestrator stops.</param>
    /// <returns>A task that completes when the step is done.</returns>
    protected abstract ValueTask ExecuteAsync(TStep step, RolloutStepContext context, CancellationToken cancellationToken);
}
