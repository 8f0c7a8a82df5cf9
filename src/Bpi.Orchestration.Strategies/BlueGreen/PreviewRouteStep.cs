using System.Globalization;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Strategies.BlueGreen;

/// <summary>Points a component's preview service (<c>{deployment}/{component}/preview</c>) at a revision, or removes it.</summary>
/// <param name="ComponentId">The component.</param>
/// <param name="Revision">The revision to preview, or <see langword="null"/> to remove the preview route.</param>
public sealed record PreviewRouteStep(string ComponentId, int? Revision) : RolloutStep
{
    /// <inheritdoc />
    public override string Kind => "preview-route";

    /// <summary>The preview service id of a component.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="componentId">The component.</param>
    /// <returns><c>{deployment}/{component}/preview</c>.</returns>
    public static string ServiceId(string deploymentId, string componentId) => TrafficRoute.ForComponent(deploymentId, componentId) + "/preview";

    /// <inheritdoc />
    public override string Describe() => Revision is { } r
        ? string.Create(CultureInfo.InvariantCulture, $"preview {ComponentId} revision {r}")
        : $"remove the preview route of {ComponentId}";
}

/// <summary>Executes <see cref="PreviewRouteStep"/> through the router; without one (or without ports) there is no preview route and the step says so.</summary>
internal sealed class PreviewRouteHandler : RolloutStepHandler<PreviewRouteStep>
{
    protected override async ValueTask ExecuteAsync(PreviewRouteStep step, RolloutStepContext context, CancellationToken cancellationToken)
    {
        var serviceId = PreviewRouteStep.ServiceId(context.DeploymentId, step.ComponentId);
        if (context.Router is not { } router)
        {
            if (step.Revision is not null)
            {
                context.ReportProgress($"{step.ComponentId}: no traffic router, so no preview route; reach the new instances at their own endpoints");
            }

            return;
        }

        if (step.Revision is not { } revision)
        {
            await context.EnsureOwnedAsync(cancellationToken).ConfigureAwait(false);
            await router.RemoveAsync(serviceId, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (context.GetComponent(step.ComponentId, revision).Ports.Count == 0)
        {
            return;
        }

        var instances = await context.GetInstancesAsync(step.ComponentId, revision, cancellationToken).ConfigureAwait(false);
        var endpoints = instances.Where(i => i.State == InstanceState.Running && i.Health != InstanceHealth.Unhealthy && i.Endpoint is not null).Select(i => i.Endpoint!).ToList();
        await context.EnsureOwnedAsync(cancellationToken).ConfigureAwait(false);
        var endpoint = await router.ApplyAsync(new TrafficRoute(serviceId, [new TrafficBackend(revision, 100, endpoints)]), cancellationToken).ConfigureAwait(false);
        context.ReportProgress($"{step.ComponentId} revision {revision.ToString(CultureInfo.InvariantCulture)} preview at {endpoint?.ToString() ?? serviceId}");
    }
}
