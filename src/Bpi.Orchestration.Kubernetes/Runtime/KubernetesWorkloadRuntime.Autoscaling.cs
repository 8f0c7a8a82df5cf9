using System.Collections.Concurrent;
using System.Globalization;
using Bpi.Orchestration.Runtime;
using k8s;
using k8s.Models;

namespace Bpi.Orchestration.Kubernetes.Runtime;

/// <summary>
/// Autoscaling (<see cref="ComponentSpec.Autoscaling"/>): one <c>autoscaling/v2</c> HorizontalPodAutoscaler per component,
/// named like the component's stable Service, on the <em>serving</em> revision — the oldest revision that still has
/// replicas, since a rollout adds newer ones and removes the old one only once the new one is stable (a rollback removes
/// the new one instead). So the HPA stays on the stable revision during a rollout and is retargeted when the old revision
/// is scaled to 0; it is deleted when the serving revision no longer asks for autoscaling, and with the deployment.
/// So the runtime scales itself (<see cref="IWorkloadSelfScaling"/>): the orchestrator's own autoscaler leaves it alone.
/// </summary>
internal sealed partial class KubernetesWorkloadRuntime : IWorkloadSelfScaling
{
    /// <summary>Always: every component with autoscaling gets its HPA.</summary>
    public bool ScalesItself => true;

    internal const string AutoscalersResource = "horizontalpodautoscalers";

    /// <summary>Components (deployment/component/namespace) that have or may have an HPA: a revision written without autoscaling looks again only for these.</summary>
    private readonly ConcurrentDictionary<string, bool> _autoscaled = new(StringComparer.Ordinal);

    /// <summary>Creates, retargets or deletes the component's HPA after one of its revisions was scaled.</summary>
    private async Task ReconcileAutoscalerAsync(WorkloadRevision revision, string ns, CancellationToken cancellationToken)
    {
        var name = KubernetesNaming.ComponentName(revision.DeploymentId, revision.Component.Id);
        var key = revision.DeploymentId + "/" + revision.Component.Id + "/" + ns;
        if (revision.Component.Autoscaling is null && !_autoscaled.ContainsKey(key))
        {
            return;
        }

        var selector = KubernetesNaming.Selector(revision.DeploymentId, revision.Component.Id);
        var revisions = await _api.CallAsync("list", "deployments", ns, (c, ct) => c.AppsV1.ListNamespacedDeploymentAsync(ns, labelSelector: selector, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        var serving = revisions.Items
            .Where(d => d.Metadata.DeletionTimestamp is null && (d.Spec?.Replicas ?? 0) > 0)
            .MinBy(d => int.TryParse(KubernetesNaming.Value(d.Metadata.Annotations, WorkloadLabels.Revision), NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : int.MaxValue);
        var desired = serving is not null && KubernetesObjectBuilder.ParseAutoscaling(KubernetesNaming.Value(serving.Metadata.Annotations, KubernetesNaming.AutoscalingAnnotation), revision.DeploymentId, revision.Component.Id) is { } spec
            ? KubernetesObjectBuilder.Autoscaler(serving, name, spec)
            : null;
        if (desired is null)
        {
            await DeleteAsync(AutoscalersResource, new V1ObjectMeta { Name = name, NamespaceProperty = ns }, (c, ct) => c.AutoscalingV2.DeleteNamespacedHorizontalPodAutoscalerAsync(name, ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            _autoscaled.TryRemove(key, out _);
            return;
        }

        _autoscaled[key] = true;
        await _api.CallAsync("update", AutoscalersResource, ns, async (c, ct) =>
        {
            var current = await ReadOrNullAsync(() => c.AutoscalingV2.ReadNamespacedHorizontalPodAutoscalerAsync(name, ns, cancellationToken: ct)).ConfigureAwait(false);
            if (current is null)
            {
                return await c.AutoscalingV2.CreateNamespacedHorizontalPodAutoscalerAsync(desired, ns, cancellationToken: ct).ConfigureAwait(false);
            }

            if (KubernetesObjectBuilder.SameAutoscaling(current, desired))
            {
                return current;
            }

            desired.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
            return await c.AutoscalingV2.ReplaceNamespacedHorizontalPodAutoscalerAsync(desired, name, ns, cancellationToken: ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        Log.AutoscalerApplied(_logger, ns, name, serving!.Metadata.Name);
    }

    /// <summary>Forgets the HPAs of a deployment that was removed.</summary>
    private void ForgetAutoscalers(string deploymentId)
    {
        foreach (var key in _autoscaled.Keys.Where(k => k.StartsWith(deploymentId + "/", StringComparison.Ordinal)))
        {
            _autoscaled.TryRemove(key, out _);
        }
    }
}
