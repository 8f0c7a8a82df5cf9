using System.Text.Json.Nodes;
using Bpi.Orchestration.Runtime;
using k8s;
using k8s.Models;

namespace Bpi.Orchestration.Kubernetes.Runtime;

/// <summary>Removal, listing and inspection: always straight from the API server (a LIST by label), never from the cache.</summary>
internal sealed partial class KubernetesWorkloadRuntime
{
    internal const string GatewayGroup = "gateway.networking.k8s.io";
    internal const string GatewayVersion = "v1";
    internal const string HttpRoutes = "httproutes";

    private static readonly TimeSpan PodsGoneTimeout = TimeSpan.FromSeconds(60);

    public async ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        var selector = KubernetesNaming.Selector(deploymentId);
        var removed = 0;
        var background = new V1DeleteOptions { PropagationPolicy = "Background" };

        var deployments = await _api.CallAsync("list", "deployments", null, (c, ct) => c.AppsV1.ListDeploymentForAllNamespacesAsync(labelSelector: selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        foreach (var item in deployments.Items)
        {
            removed += await DeleteAsync("deployments", item.Metadata, (c, ct) => c.AppsV1.DeleteNamespacedDeploymentAsync(item.Metadata.Name, item.Metadata.NamespaceProperty, background, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }

        var services = await _api.CallAsync("list", "services", null, (c, ct) => c.CoreV1.ListServiceForAllNamespacesAsync(labelSelector: selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        foreach (var item in services.Items)
        {
            _services.TryRemove(item.Metadata.NamespaceProperty + "/" + item.Metadata.Name, out _);
            removed += await DeleteAsync("services", item.Metadata, (c, ct) => c.CoreV1.DeleteNamespacedServiceAsync(item.Metadata.Name, item.Metadata.NamespaceProperty, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }

        var secrets = await _api.CallAsync("list", "secrets", null, (c, ct) => c.CoreV1.ListSecretForAllNamespacesAsync(labelSelector: selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        foreach (var item in secrets.Items)
        {
            removed += await DeleteAsync("secrets", item.Metadata, (c, ct) => c.CoreV1.DeleteNamespacedSecretAsync(item.Metadata.Name, item.Metadata.NamespaceProperty, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }

        var claims = await _api.CallAsync("list", "persistentvolumeclaims", null, (c, ct) => c.CoreV1.ListPersistentVolumeClaimForAllNamespacesAsync(labelSelector: selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        foreach (var item in claims.Items)
        {
            removed += await DeleteAsync("persistentvolumeclaims", item.Metadata, (c, ct) => c.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(item.Metadata.Name, item.Metadata.NamespaceProperty, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }

        var autoscalers = await _api.CallAsync("list", AutoscalersResource, null, (c, ct) => c.AutoscalingV2.ListHorizontalPodAutoscalerForAllNamespacesAsync(labelSelector: selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        foreach (var item in autoscalers.Items)
        {
            removed += await DeleteAsync(AutoscalersResource, item.Metadata, (c, ct) => c.AutoscalingV2.DeleteNamespacedHorizontalPodAutoscalerAsync(item.Metadata.Name, item.Metadata.NamespaceProperty, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }

        foreach (var (ns, name) in await ListRoutesAsync(selector, cancellationToken).ConfigureAwait(false))
        {
            removed += await DeleteAsync(HttpRoutes, new V1ObjectMeta { Name = name, NamespaceProperty = ns }, (c, ct) => c.CustomObjects.DeleteNamespacedCustomObjectAsync(GatewayGroup, GatewayVersion, ns, HttpRoutes, name, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        }

        // The garbage collector removes the pods after their Deployments; the call returns when none is left.
        var label = KubernetesNaming.LabelValue(deploymentId);
        await Pods.EnsureSyncedAsync(cancellationToken).ConfigureAwait(false);
        if (!await Pods.WaitUntilAsync(pods => !pods.Any(p => KubernetesNaming.Value(p.Metadata.Labels, WorkloadLabels.Deployment) == label), PodsGoneTimeout, cancellationToken).ConfigureAwait(false))
        {
            throw new OrchestrationException(OrchestrationErrorKind.Timeout, $"The pods of deployment '{deploymentId}' were still there {PodsGoneTimeout} after their Deployments were deleted; check the cluster's garbage collector and finalizers (kubectl get pods -l {WorkloadLabels.Deployment}={label} -A).");
        }

        _lastWrite.TryRemove(deploymentId, out _);
        ForgetAutoscalers(deploymentId);
        foreach (var key in _auditedRevisions.Keys.Where(k => k.StartsWith(deploymentId + "/", StringComparison.Ordinal)))
        {
            _auditedRevisions.TryRemove(key, out _);
        }

        Log.Removed(_logger, removed, deploymentId);
    }

    public async ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default)
    {
        var pods = await _api.CallAsync("list", "pods", null, (c, ct) => c.CoreV1.ListPodForAllNamespacesAsync(labelSelector: KubernetesNaming.ManagedSelector + "," + WorkloadLabels.Owner, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        return [.. pods.Items.Select(p => PodInstanceMapper.Map(p, null)).OrderBy(i => i.InstanceId, StringComparer.Ordinal)];
    }

    public async ValueTask<IReadOnlyList<WorkloadInspection>> InspectDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        var pods = await _api.CallAsync("list", "pods", null, (c, ct) => c.CoreV1.ListPodForAllNamespacesAsync(labelSelector: KubernetesNaming.Selector(deploymentId), cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        return [.. pods.Items
            .Select(p => (Instance: PodInstanceMapper.Map(p, null), Pod: p))
            .OrderBy(p => p.Instance.InstanceId, StringComparer.Ordinal)
            .Select(p => new WorkloadInspection(p.Instance.ComponentId, p.Instance.Revision, p.Instance.InstanceId, EngineName, KubernetesJson.Serialize(p.Pod)))];
    }

    /// <summary>Deletes a revision's Deployment, Secret and Service (scaled to 0: nothing of it is left).</summary>
    private async Task RemoveRevisionAsync(string deploymentId, string ns, string name, CancellationToken cancellationToken)
    {
        var meta = new V1ObjectMeta { Name = name, NamespaceProperty = ns };
        await DeleteAsync("deployments", meta, (c, ct) => c.AppsV1.DeleteNamespacedDeploymentAsync(name, ns, new V1DeleteOptions { PropagationPolicy = "Background" }, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        await DeleteAsync("secrets", meta, (c, ct) => c.CoreV1.DeleteNamespacedSecretAsync(name, ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        await DeleteAsync("services", meta, (c, ct) => c.CoreV1.DeleteNamespacedServiceAsync(name, ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        _services.TryRemove(ns + "/" + name, out _);
        _lastWrite.TryRemove(deploymentId, out _);
    }

    private async Task<int> DeleteAsync<T>(string resource, V1ObjectMeta meta, Func<IKubernetes, CancellationToken, Task<T>> delete, CancellationToken cancellationToken)
        where T : class
        => await _api.CallOrDefaultAsync("delete", resource, meta.NamespaceProperty, delete, cancellationToken).ConfigureAwait(false) is null ? 0 : 1;

    /// <summary>The HTTPRoutes matching a selector; none when the cluster has no Gateway API (its CRDs are not installed).</summary>
    internal async Task<List<(string Namespace, string Name)>> ListRoutesAsync(string selector, CancellationToken cancellationToken)
    {
        var list = await _api.CallOrDefaultAsync("list", HttpRoutes, null, (c, ct) => c.CustomObjects.ListCustomObjectForAllNamespacesAsync<JsonObject>(GatewayGroup, GatewayVersion, HttpRoutes, labelSelector: selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        var routes = new List<(string, string)>();
        foreach (var item in list?["items"] as JsonArray ?? [])
        {
            if ((string?)item?["metadata"]?["namespace"] is { } ns && (string?)item?["metadata"]?["name"] is { } name)
            {
                routes.Add((ns, name));
            }
        }

        return routes;
    }
}
