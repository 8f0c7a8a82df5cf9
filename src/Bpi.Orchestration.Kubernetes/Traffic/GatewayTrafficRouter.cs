using System.Globalization;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Kubernetes.Runtime;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Kubernetes.Traffic;

/// <summary>
/// Traffic weights on the Gateway API: one <c>HTTPRoute</c> (<c>gateway.networking.k8s.io/v1</c>) per component,
/// attached to the configured Gateway, whose one rule's <c>backendRefs</c> are the revisions' Services with the plan's
/// weights — exact percentages, applied by the Gateway's controller. The Services are the runtime's (one per revision);
/// the route lives in the component's namespace and goes with the deployment.
/// </summary>
internal sealed class GatewayTrafficRouter(KubernetesWorkloadRuntime runtime, ILogger logger) : ITrafficRouter
{
    public string Name => "kubernetes-gateway";

    public async ValueTask<ServiceEndpoint?> ApplyAsync(TrafficRoute route, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(route);
        var (deploymentId, componentId, routeName) = Split(route.ServiceId);
        var owner = await FindRevisionAsync(deploymentId, componentId, cancellationToken).ConfigureAwait(false)
            ?? throw new OrchestrationException(OrchestrationErrorKind.NetworkSetupFailed, $"Cannot route '{route.ServiceId}': the runtime has no Deployment of it, so its namespace and port are unknown. Scale a revision up first; the previous route stays live.");
        var ns = owner.Metadata.NamespaceProperty;
        var port = owner.Spec.Template.Spec.Containers[0].Ports?.FirstOrDefault()?.ContainerPort
            ?? throw new OrchestrationException(OrchestrationErrorKind.NetworkSetupFailed, $"Cannot route '{route.ServiceId}': its component exposes no port.");
        var name = routeName;
        var body = Route(route, deploymentId, componentId, ns, name, port, owner.Metadata.Annotations);
        await runtime.Api.CallAsync("update", KubernetesWorkloadRuntime.HttpRoutes, ns, async (c, ct) =>
        {
            // Re-read on every attempt, so a 409 is retried against what is there now.
            JsonObject? current = null;
            try
            {
                current = await c.CustomObjects.GetNamespacedCustomObjectAsync<JsonObject>(KubernetesWorkloadRuntime.GatewayGroup, KubernetesWorkloadRuntime.GatewayVersion, ns, KubernetesWorkloadRuntime.HttpRoutes, name, ct).ConfigureAwait(false);
            }
            catch (k8s.Autorest.HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
            }

            if (current is not { } existing)
            {
                return await c.CustomObjects.CreateNamespacedCustomObjectAsync<JsonObject>(body, KubernetesWorkloadRuntime.GatewayGroup, KubernetesWorkloadRuntime.GatewayVersion, ns, KubernetesWorkloadRuntime.HttpRoutes, cancellationToken: ct).ConfigureAwait(false);
            }

            body["metadata"]!["resourceVersion"] = (string?)existing["metadata"]?["resourceVersion"];
            return await c.CustomObjects.ReplaceNamespacedCustomObjectAsync<JsonObject>(body, KubernetesWorkloadRuntime.GatewayGroup, KubernetesWorkloadRuntime.GatewayVersion, ns, KubernetesWorkloadRuntime.HttpRoutes, name, cancellationToken: ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        Log.RouteApplied(logger, ns, name, string.Join(", ", route.Backends.Select(b => string.Create(CultureInfo.InvariantCulture, $"r{b.Revision}={b.Weight}"))));
        return null;
    }

    public async ValueTask RemoveAsync(string serviceId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceId);
        var (deploymentId, componentId, routeName) = Split(serviceId);
        foreach (var (ns, name) in await runtime.ListRoutesAsync(KubernetesNaming.Selector(deploymentId, componentId), cancellationToken).ConfigureAwait(false))
        {
            if (name != routeName)
            {
                continue;
            }

            await runtime.Api.CallOrDefaultAsync("delete", KubernetesWorkloadRuntime.HttpRoutes, ns, (c, ct) => c.CustomObjects.DeleteNamespacedCustomObjectAsync(KubernetesWorkloadRuntime.GatewayGroup, KubernetesWorkloadRuntime.GatewayVersion, ns, KubernetesWorkloadRuntime.HttpRoutes, name, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }
    }

    private JsonObject Route(TrafficRoute route, string deploymentId, string componentId, string ns, string name, int port, IDictionary<string, string>? ownerAnnotations)
    {
        var options = runtime.Options;
        var gateway = options.GatewayParentRef!.Split('/');
        var parent = new JsonObject { ["group"] = KubernetesWorkloadRuntime.GatewayGroup, ["kind"] = "Gateway", ["name"] = gateway[^1] };
        if (gateway.Length == 2)
        {
            parent["namespace"] = gateway[0];
        }

        if (options.GatewaySectionName is { } section)
        {
            parent["sectionName"] = section;
        }

        var labels = new JsonObject
        {
            [KubernetesNaming.ManagedByLabel] = KubernetesNaming.ManagedBy,
            [WorkloadLabels.Deployment] = KubernetesNaming.LabelValue(deploymentId),
            [WorkloadLabels.Component] = KubernetesNaming.LabelValue(componentId),
            [KubernetesNaming.InstanceLabel] = KubernetesNaming.LabelValue(deploymentId),
            [KubernetesNaming.NameLabel] = KubernetesNaming.LabelValue(componentId),
        };
        if (ownerAnnotations?.TryGetValue(WorkloadLabels.Owner, out var ownerId) == true)
        {
            labels[WorkloadLabels.Owner] = KubernetesNaming.LabelValue(ownerId);
        }

        var backends = new JsonArray();
        foreach (var backend in route.Backends)
        {
            backends.Add(new JsonObject
            {
                ["group"] = "",
                ["kind"] = "Service",
                ["name"] = KubernetesNaming.RevisionName(deploymentId, componentId, backend.Revision),
                ["port"] = port,
                ["weight"] = backend.Weight,
            });
        }

        return new JsonObject
        {
            ["apiVersion"] = KubernetesWorkloadRuntime.GatewayGroup + "/" + KubernetesWorkloadRuntime.GatewayVersion,
            ["kind"] = "HTTPRoute",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = ns,
                ["labels"] = labels,
                ["annotations"] = new JsonObject { [WorkloadLabels.Deployment] = deploymentId, [WorkloadLabels.Component] = componentId },
            },
            ["spec"] = new JsonObject
            {
                ["parentRefs"] = new JsonArray(parent),
                ["rules"] = new JsonArray(new JsonObject { ["backendRefs"] = backends }),
            },
        };
    }

    private async Task<V1Deployment?> FindRevisionAsync(string deploymentId, string componentId, CancellationToken cancellationToken)
    {
        await runtime.Deployments.EnsureSyncedAsync(cancellationToken).ConfigureAwait(false);
        var deployment = KubernetesNaming.LabelValue(deploymentId);
        var component = KubernetesNaming.LabelValue(componentId);
        return runtime.Deployments.Items
            .Where(d => KubernetesNaming.Value(d.Metadata.Labels, WorkloadLabels.Deployment) == deployment && KubernetesNaming.Value(d.Metadata.Labels, WorkloadLabels.Component) == component)
            .OrderByDescending(d => int.TryParse(KubernetesNaming.Value(d.Metadata.Labels, WorkloadLabels.Revision), NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 0)
            .FirstOrDefault();
    }

    /// <summary>Splits <c>{deployment}/{component}</c> or <c>{deployment}/{component}/{suffix}</c> (a blue-green preview) and names its route.</summary>
    private static (string DeploymentId, string ComponentId, string RouteName) Split(string serviceId)
    {
        var parts = serviceId.Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
        {
            throw new ArgumentException($"'{serviceId}' is not a {{deploymentId}}/{{componentId}}[/{{suffix}}] service id.", nameof(serviceId));
        }

        return (parts[0], parts[1], KubernetesNaming.ComponentName(parts[0], parts.Length == 3 ? parts[1] + "-" + parts[2] : parts[1]));
    }
}
