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
                await router.RemoveAsync(serviceId, cancellationToken).ConfigureAwait(false);
            }

            context.RecordTraffic(step.ComponentId, step.Weights, approximated: false);
            return;
        }

        var anyRevision = step.Weights.Keys.Max();
        var component = context.GetComponent(step.ComponentId, anyRevision);
        if (router is null || component.Ports.Count == 0)
        {
            var split = step.Weights.Values.Any(w => w is > 0 and < 100);
            context.RecordTraffic(step.ComponentId, step.Weights, approximated: split);
            return;
        }

        var backends = new List<TrafficBackend>(step.Weights.Count);
        foreach (var (revision, weight) in step.Weights.OrderBy(w => w.Key))
        {
            var instances = await context.GetInstancesAsync(step.ComponentId, revision, cancellationToken).ConfigureAwait(false);
            var endpoints = instances
                .Where(i => i.State == InstanceState.Running && i.Health != InstanceHealth.Unhealthy && i.Endpoint is not null)
                .Select(i => i.Endpoint!)
                .ToList();
            if (weight > 0 && endpoints.Count == 0)
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.NetworkSetupFailed,
                    $"Cannot send {weight}% of '{step.ComponentId}' traffic to revision {revision}: it has no running instance with an endpoint. The previous route stays live.");
            }

            backends.Add(new TrafficBackend(revision, weight, endpoints));
        }

        await router.ApplyAsync(new TrafficRoute(serviceId, backends), cancellationToken).ConfigureAwait(false);
        context.RecordTraffic(step.ComponentId, step.Weights, approximated: false);
    }
}
