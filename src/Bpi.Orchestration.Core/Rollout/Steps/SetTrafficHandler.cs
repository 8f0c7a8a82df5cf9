using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Rollout.Steps;

/// <summary>Applies traffic weights through the registered router; without one, records the weights as approximated by replica ratio.</summary>
internal sealed class SetTrafficHandler : RolloutStepHandler<SetTrafficStep>
{
    protected override async ValueTask ExecuteAsync(SetTrafficStep step, RolloutStepContext context, CancellationToken cancellationToken)
    {
        var serviceId = TrafficRoute.ForComponent(context.DeploymentId, step.ComponentId);
        var router = context.Router;
        if (step.Weights.Count == 0)
        {
            if (router is not null)
            {
                await context.EnsureOwnedAsync(cancellationToken).ConfigureAwait(false);
                await router.RemoveAsync(serviceId, cancellationToken).ConfigureAwait(false);
            }

            context.RecordTraffic(step.ComponentId, step.Weights, approximated: false);
            return;
        }

        // Revisions in ascending order; a plain sort of a handful of pairs (usually one) instead of LINQ.
        var weights = TrafficWeights.Sorted(step.Weights);
        var split = false;
        foreach (var (_, weight) in weights)
        {
            split |= weight is > 0 and < 100;
        }

        var component = context.GetComponent(step.ComponentId, weights[^1].Key);
        if (router is null || component.Ports.Count == 0)
        {
            context.RecordTraffic(step.ComponentId, step.Weights, approximated: split);
            return;
        }

        var backends = new TrafficBackend[weights.Length];
        for (var b = 0; b < weights.Length; b++)
        {
            var (revision, weight) = weights[b];
            var instances = await context.GetInstancesAsync(step.ComponentId, revision, cancellationToken).ConfigureAwait(false);
            var endpoints = Routable(instances, context);
            if (weight > 0 && endpoints.Length == 0)
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.NetworkSetupFailed,
                    $"Cannot send {weight}% of '{step.ComponentId}' traffic to revision {revision}: it has no running instance with an endpoint. The previous route stays live.");
            }

            backends[b] = new TrafficBackend(revision, weight, endpoints);
        }

        await context.EnsureOwnedAsync(cancellationToken).ConfigureAwait(false);
        await router.ApplyAsync(new TrafficRoute(serviceId, backends), cancellationToken).ConfigureAwait(false);
        context.RecordTraffic(step.ComponentId, step.Weights, approximated: false);
    }

    /// <summary>
    /// The endpoints of the instances that may take traffic (running, not unhealthy, not taken out by self-healing), in
    /// one pass into an array sized for all of them (the route keeps it), cut down only when some may not take traffic.
    /// </summary>
    private static ServiceEndpoint[] Routable(IReadOnlyList<WorkloadInstance> instances, RolloutStepContext context)
    {
        if (instances.Count == 0)
        {
            return [];
        }

        var endpoints = new ServiceEndpoint[instances.Count];
        var n = 0;
        for (var index = 0; index < instances.Count; index++)
        {
            if (IsRoutable(instances[index], context))
            {
                endpoints[n++] = instances[index].Endpoint!;
            }
        }

        return n == endpoints.Length ? endpoints : endpoints[..n];
    }

    private static bool IsRoutable(WorkloadInstance instance, RolloutStepContext context)
        => instance is { State: InstanceState.Running, Endpoint: not null } && instance.Health != InstanceHealth.Unhealthy
           && !context.IsOutOfTraffic(instance.InstanceId);
}
