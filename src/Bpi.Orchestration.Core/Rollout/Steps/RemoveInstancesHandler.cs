using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Rollout.Steps;

/// <summary>
/// Removes given instances: one by one through <see cref="IWorkloadInstanceRemover"/> when the runtime has it; otherwise
/// those that ended, by converging to the count without them (a runtime removes ended instances first).
/// </summary>
internal sealed class RemoveInstancesHandler : RolloutStepHandler<RemoveInstancesStep>
{
    protected override async ValueTask ExecuteAsync(RemoveInstancesStep step, RolloutStepContext context, CancellationToken cancellationToken)
    {
        var instances = await context.GetInstancesAsync(step.ComponentId, step.Revision, cancellationToken).ConfigureAwait(false);
        var present = instances.Where(i => step.InstanceIds.Contains(i.InstanceId, StringComparer.Ordinal)).ToList();
        if (present.Count == 0)
        {
            return;
        }

        if (context.Runtime is IWorkloadInstanceRemover remover)
        {
            foreach (var instance in present)
            {
                await context.EnsureOwnedAsync(cancellationToken).ConfigureAwait(false);
                await remover.RemoveInstanceAsync(context.DeploymentId, instance.InstanceId, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (present.Any(i => !i.IsTerminated))
        {
            throw new OrchestrationException(
                OrchestrationErrorKind.InvalidConfiguration,
                $"The {context.Runtime.Name} runtime cannot remove a running instance by id (it does not implement IWorkloadInstanceRemover), so an instance failing its liveness check cannot be replaced; remove the liveness check or use a runtime that supports it.");
        }

        await context.EnsureReplicasAsync(step.ComponentId, step.Revision, instances.Count - present.Count, cancellationToken).ConfigureAwait(false);
    }
}
