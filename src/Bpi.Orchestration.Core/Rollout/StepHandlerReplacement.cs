namespace Bpi.Orchestration.Rollout;

/// <summary>Marks a step handler registered with <c>builder.ReplaceStepHandler&lt;TStep, THandler&gt;()</c>: the one handler that may take over a step type another handler is registered for.</summary>
internal interface IStepHandlerReplacement
{
    /// <summary>The replacing handler.</summary>
    IRolloutStepHandler Handler { get; }
}

/// <summary>The DI registration of an explicit replacement: resolves <typeparamref name="THandler"/> and declares it the handler of <typeparamref name="TStep"/>.</summary>
/// <typeparam name="TStep">The step type replaced.</typeparam>
/// <typeparam name="THandler">The replacing handler.</typeparam>
internal sealed class StepHandlerReplacement<TStep, THandler>(THandler handler) : IRolloutStepHandler, IStepHandlerReplacement
    where TStep : RolloutStep
    where THandler : class, IRolloutStepHandler
{
    public Type StepType => typeof(TStep);

    public IRolloutStepHandler Handler => handler;

    public ValueTask ExecuteAsync(RolloutStep step, RolloutStepContext context, CancellationToken cancellationToken)
        => handler.ExecuteAsync(step, context, cancellationToken);
}

/// <summary>Builds the executor's one-handler-per-step-type table, refusing ambiguous registrations.</summary>
internal static class StepHandlerTable
{
    /// <summary>
    /// One handler per step type. Two handlers for one step type are an error unless exactly one of them was registered
    /// as an explicit replacement; a replacement must execute the step type it claims.
    /// </summary>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>, listing every conflict and how to resolve it.</exception>
    public static Dictionary<Type, IRolloutStepHandler> Build(IEnumerable<IRolloutStepHandler> handlers)
    {
        var table = new Dictionary<Type, IRolloutStepHandler>();
        var problems = new List<string>();
        foreach (var group in handlers.GroupBy(h => h.StepType))
        {
            var step = group.Key.Name;
            var replacements = group.OfType<IStepHandlerReplacement>().ToList();
            foreach (var replacement in replacements.Where(r => r.Handler.StepType != group.Key))
            {
                problems.Add($"{replacement.Handler.GetType().Name} is registered with ReplaceStepHandler<{step}, {replacement.Handler.GetType().Name}>() but executes {replacement.Handler.StepType.Name}; name the step type it executes.");
            }

            if (replacements.Count > 1)
            {
                problems.Add($"Rollout step {step} is replaced by {string.Join(" and ", replacements.Select(r => r.Handler.GetType().Name))}; call ReplaceStepHandler<{step}, …>() once.");
            }
            else if (replacements.Count == 1)
            {
                table[group.Key] = (IRolloutStepHandler)replacements[0];
            }
            else if (group.Skip(1).Any())
            {
                var names = group.Select(h => h.GetType().Name).ToList();
                problems.Add($"Rollout step {step} has {names.Count} handlers: {string.Join(" and ", names)}. Register one, or replace the existing one explicitly with builder.ReplaceStepHandler<{step}, {names[^1]}>() instead of AddStepHandler<{names[^1]}>().");
            }
            else
            {
                table[group.Key] = group.First();
            }
        }

        return problems.Count == 0 ? table : throw OrchestrationException.InvalidConfiguration("The rollout step handler registration", problems);
    }
}
