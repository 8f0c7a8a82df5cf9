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
        var weights = new KeyValuePair<int, int>[step.Weights.Count];
        var n = 0;
        var split = false;
        foreach (var pair in step.Weights)
        {
            weights[n++] = pair;
            split |= pair.Value is > 0 and < 100;
        }

        if (weights.Length > 1)
        {
            Array.Sort(weights, static (a, b) => a.Key.CompareTo(b.Key));
        }

        var component = context.GetComponent(step.ComponentId, weights[^1].Key);
        if (router is null || component.Ports.Count == 0)
        {
            context.RecordTraffic(step.ComponentId, step.Weights, approximated: split);
            return;
        }

        var backends = new List<TrafficBackend>(weights.Length);
        foreach (var (revision, weight) in weights)
        {
            var instances = await context.GetInstancesAsync(step.ComponentId, revision, cancellationToken).ConfigureAwait(false);
            var endpoints = new List<ServiceEndpoint>(instances.Count);
            for (var index = 0; index < instances.Count; index++)
            {
                var instance = instances[index];
                if (instance is { State: InstanceState.Running, Endpoint: { } endpoint } && instance.Health != InstanceHealth.Unhealthy
                    && !context.IsOutOfTraffic(instance.InstanceId))
                {
                    endpoints.Add(endpoint);
                }
            }

            if (weight > 0 && endpoints.Count == 0)
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.NetworkSetupFailed,
                    $"Cannot send {weight}% of '{step.ComponentId}' traffic to revision {revision}: it has no running instance with an endpoint. The previous route stays live.");
            }

            backends.Add(new TrafficBackend(revision, weight, endpoints));
        }

        await context.EnsureOwnedAsync(cancellationToken).ConfigureAwait(false);
        await router.ApplyAsync(new TrafficRoute(serviceId, backends), cancellationToken).ConfigureAwait(false);
        context.RecordTraffic(step.ComponentId, step.Weights, approximated: false);
    }
}
