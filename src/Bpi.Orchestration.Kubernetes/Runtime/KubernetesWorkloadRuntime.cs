using System.Collections.Concurrent;
using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Kubernetes.Runtime;

/// <summary>
/// Runs each component revision as one <c>apps/v1</c> Deployment (<c>{deployment}-{component}-r{revision}</c>) in its
/// environment's namespace, scaled to the plan's counts, with its Secret, volume claims and Services. Instances are the
/// Deployment's pods, read from a watch-fed cache (<see cref="ResourceInformer{T}"/>) rather than by polling: a pod is
/// running once it is Ready and its Deployment's controller has observed the current spec; crash loops, image pull
/// errors, unschedulable pods and Deployments that cannot create pods (or passed their progress deadline) are failed
/// instances carrying Kubernetes' reason and message. Removal, listing and inspection live in the partial file beside this one.
/// </summary>
internal sealed partial class KubernetesWorkloadRuntime : IWorkloadRuntime, IWorkloadInspector, IAsyncDisposable
{
    /// <summary>The <see cref="WorkloadInspection.Engine"/> of pods: the document is the API's Pod object.</summary>
    public const string EngineName = WorkloadInspection.KubernetesEngine;

    private static readonly TimeSpan ReadYourWritesTimeout = TimeSpan.FromSeconds(5);

    private readonly KubernetesApi _api;
    private readonly KubernetesRuntimeOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly IAuditSink? _audit;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _revisionGates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _namespaces = new(StringComparer.Ordinal);

    /// <summary>Services (namespace/name) this runtime created or found: later scale steps of the revision skip their create.</summary>
    private readonly ConcurrentDictionary<string, bool> _services = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _auditedRevisions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _lastWrite = new(StringComparer.Ordinal);
    private int _disposed;

    public KubernetesWorkloadRuntime(KubernetesApi api, KubernetesRuntimeOptions options, TimeProvider timeProvider, ILogger logger, IAuditSink? audit = null)
    {
        _api = api;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _audit = audit;
        Pods = new ResourceInformer<V1Pod>(
            "pods",
            async ct =>
            {
                var list = await _api.CallAsync("list", "pods", null, (c, t) => c.CoreV1.ListPodForAllNamespacesAsync(labelSelector: KubernetesNaming.ManagedSelector, cancellationToken: t), ct).ConfigureAwait(false);
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => _api.Client.CoreV1.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: KubernetesNaming.ManagedSelector, resourceVersion: rv, timeoutSeconds: 300, onError: onError, cancellationToken: ct),
            timeProvider,
            logger);
        Deployments = new ResourceInformer<V1Deployment>(
            "deployments",
            async ct =>
            {
                var list = await _api.CallAsync("list", "deployments", null, (c, t) => c.AppsV1.ListDeploymentForAllNamespacesAsync(labelSelector: KubernetesNaming.ManagedSelector, cancellationToken: t), ct).ConfigureAwait(false);
                return (list.Items, list.Metadata.ResourceVersion);
            },
            (rv, onError, ct) => _api.Client.AppsV1.WatchListDeploymentForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: KubernetesNaming.ManagedSelector, resourceVersion: rv, timeoutSeconds: 300, onError: onError, cancellationToken: ct),
            timeProvider,
            logger);
    }

    public string Name => EngineName;

    internal ResourceInformer<V1Pod> Pods { get; }

    internal ResourceInformer<V1Deployment> Deployments { get; }

    internal KubernetesApi Api => _api;

    internal KubernetesRuntimeOptions Options => _options;

    public async ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revision);
        if (replicas < 0)
        {
            throw OrchestrationException.InvalidConfiguration($"Replica count of component '{revision.Component.Id}'", [$"replicas is {replicas}; use 0 or more."]);
        }

        var ns = _options.NamespaceFor(revision.Environment);
        var name = KubernetesNaming.RevisionName(revision.DeploymentId, revision.Component.Id, revision.Revision);
        var gate = _revisionGates.GetOrAdd(ns + "/" + name, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Log.Scaling(_logger, revision.DeploymentId, revision.Component.Id, revision.Revision, replicas, ns);
            if (replicas == 0)
            {
                await RemoveRevisionAsync(revision.DeploymentId, ns, name, cancellationToken).ConfigureAwait(false);
                await ReconcileAutoscalerAsync(revision, ns, cancellationToken).ConfigureAwait(false);
                return;
            }

            var docklock = Resolve(revision.Component);
            await EnsureNamespaceAsync(ns, cancellationToken).ConfigureAwait(false);
            await AuditRelaxationsAsync(revision, docklock, cancellationToken).ConfigureAwait(false);
            if (KubernetesObjectBuilder.Secret(revision) is { } secret)
            {
                await _api.CallAsync("update", "secrets", ns, async (c, ct) =>
                {
                    var current = await ReadOrNullAsync(() => c.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct)).ConfigureAwait(false);
                    if (current is null)
                    {
                        return await c.CoreV1.CreateNamespacedSecretAsync(secret, ns, cancellationToken: ct).ConfigureAwait(false);
                    }

                    secret.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
                    return await c.CoreV1.ReplaceNamespacedSecretAsync(secret, name, ns, cancellationToken: ct).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
            }

            foreach (var volume in docklock.Volumes)
            {
                var claim = KubernetesObjectBuilder.VolumeClaim(revision, volume, _options);
                await CreateIfMissingAsync("persistentvolumeclaims", ns, (c, ct) => c.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(claim, ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            }

            foreach (var stable in new[] { false, true })
            {
                if (KubernetesObjectBuilder.Service(revision, stable) is { } service && !_services.ContainsKey(ns + "/" + service.Metadata.Name))
                {
                    await CreateIfMissingAsync("services", ns, (c, ct) => c.CoreV1.CreateNamespacedServiceAsync(service, ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
                    _services[ns + "/" + service.Metadata.Name] = true;
                }
            }

            var desired = KubernetesObjectBuilder.Deployment(revision, replicas, docklock, _options);
            var written = await _api.CallAsync("update", "deployments", ns, async (c, ct) =>
            {
                // Re-read on every attempt: a 409 means someone wrote in between, and the retry starts from what is there now.
                var current = await ReadOrNullAsync(() => c.AppsV1.ReadNamespacedDeploymentAsync(name, ns, cancellationToken: ct)).ConfigureAwait(false);
                if (current is null)
                {
                    return await c.AppsV1.CreateNamespacedDeploymentAsync(desired, ns, cancellationToken: ct).ConfigureAwait(false);
                }

                if (current.Spec.Replicas == replicas)
                {
                    return current;
                }

                current.Spec.Replicas = replicas;
                return await c.AppsV1.ReplaceNamespacedDeploymentAsync(current, name, ns, cancellationToken: ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            _lastWrite[revision.DeploymentId] = written.Metadata.ResourceVersion;
            await ReconcileAutoscalerAsync(revision, ns, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    public async ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        await Pods.EnsureSyncedAsync(cancellationToken).ConfigureAwait(false);
        await Deployments.EnsureSyncedAsync(cancellationToken).ConfigureAwait(false);
        if (_lastWrite.TryGetValue(deploymentId, out var written))
        {
            // Read your own writes: the cache has seen the last Deployment this runtime wrote for the deployment.
            await Deployments.WaitForAsync(written, ReadYourWritesTimeout, cancellationToken).ConfigureAwait(false);
        }

        var selector = KubernetesNaming.SelectorLabels(deploymentId, componentId ?? "", revision ?? 0);
        bool Matches(IDictionary<string, string>? labels)
            => labels is not null
                && labels.TryGetValue(WorkloadLabels.Deployment, out var d) && d == selector[WorkloadLabels.Deployment]
                && (componentId is null || (labels.TryGetValue(WorkloadLabels.Component, out var c) && c == selector[WorkloadLabels.Component]))
                && (revision is null || (labels.TryGetValue(WorkloadLabels.Revision, out var r) && r == selector[WorkloadLabels.Revision]));

        var owners = Deployments.Items.Where(d => Matches(d.Metadata.Labels)).ToDictionary(d => d.Metadata.NamespaceProperty + "/" + d.Metadata.Name, StringComparer.Ordinal);
        var instances = new List<WorkloadInstance>();
        foreach (var pod in Pods.Items)
        {
            if (Matches(pod.Metadata.Labels))
            {
                owners.TryGetValue(pod.Metadata.NamespaceProperty + "/" + OwnerName(pod), out var owner);
                instances.Add(PodInstanceMapper.Map(pod, owner));
            }
        }

        foreach (var owner in owners.Values)
        {
            // A Deployment that cannot create its pods (admission refused them) or passed its progress deadline is a failure
            // of its own, with Kubernetes' words, even when it has no pod to show it.
            if (RolloutStatus.Of(owner) is { Failed: true } status && instances.Count(i => i.InstanceId.StartsWith(owner.Metadata.Name + "-", StringComparison.Ordinal)) < (owner.Spec?.Replicas ?? 0))
            {
                instances.Add(DeploymentFailure(owner, status));
            }
        }

        instances.Sort(static (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        return instances;
    }

    public async ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        ArgumentOutOfRangeException.ThrowIfNegative(lines);
        if (lines == 0)
        {
            return [];
        }

        await Pods.EnsureSyncedAsync(cancellationToken).ConfigureAwait(false);
        var pod = Pods.Items.FirstOrDefault(p => p.Metadata.Name == instanceId)
            ?? throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"No pod '{instanceId}' of this orchestrator exists; list the deployment's instances for their names.");
        var ns = pod.Metadata.NamespaceProperty;
        var previous = pod.Status?.ContainerStatuses?.FirstOrDefault()?.RestartCount > 0;
        using var stream = await _api.CallAsync("get", "pods/log", ns, (c, ct) => c.CoreV1.ReadNamespacedPodLogAsync(instanceId, ns, container: KubernetesObjectBuilder.ContainerName, previous: previous, tailLines: lines, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        var all = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return all.Length <= lines ? all : all[^lines..];
    }

    public async ValueTask DisposeAsync()
    {
        // The container hands the one instance out as several services, and disposes each registration's.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await Pods.DisposeAsync().ConfigureAwait(false);
        await Deployments.DisposeAsync().ConfigureAwait(false);
        _api.Dispose();
    }

    internal static string OwnerName(V1Pod pod)
    {
        // Pods of a Deployment belong to its ReplicaSet, named {deployment}-{template hash}.
        var replicaSet = pod.Metadata.OwnerReferences?.FirstOrDefault(o => o.Kind == "ReplicaSet")?.Name;
        return replicaSet is null ? "" : replicaSet[..Math.Max(0, replicaSet.LastIndexOf('-'))];
    }

    private static WorkloadInstance DeploymentFailure(V1Deployment owner, RolloutStatus status)
    {
        var annotations = owner.Metadata.Annotations ?? new Dictionary<string, string>();
        return new WorkloadInstance
        {
            InstanceId = owner.Metadata.Name,
            DeploymentId = KubernetesNaming.Value(annotations, WorkloadLabels.Deployment) ?? "",
            ComponentId = KubernetesNaming.Value(annotations, WorkloadLabels.Component) ?? "",
            Revision = int.TryParse(KubernetesNaming.Value(annotations, WorkloadLabels.Revision), NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 0,
            OwnerId = KubernetesNaming.Value(annotations, WorkloadLabels.Owner),
            State = InstanceState.Failed,
            Message = status.Message,
        };
    }

    private DockLockEffectiveSettings Resolve(ComponentSpec component)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(component.Image))
        {
            errors.Add($"Component '{component.Id}' has no image; the Kubernetes runtime runs container images (a Command alone overrides the image's entry point).");
        }

        var docklock = DockLockEffectiveSettings.Resolve(component, new DockLockDefaults { NonRootUser = string.Create(CultureInfo.InvariantCulture, $"{_options.NonRootUserId}:{_options.NonRootUserId}") });
        errors.AddRange(docklock.Errors);
        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration($"Component '{component.Id}' on Kubernetes", errors);
        }

        KubernetesObjectBuilder.User(docklock, _options);
        return docklock;
    }

    private async Task EnsureNamespaceAsync(string ns, CancellationToken cancellationToken)
    {
        if (_namespaces.ContainsKey(ns))
        {
            return;
        }

        var existing = await _api.CallOrDefaultAsync("get", "namespaces", null, (c, ct) => c.CoreV1.ReadNamespaceAsync(ns, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            if (!_options.CreateNamespaces)
            {
                throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"Namespace '{ns}' does not exist and CreateNamespaces is off; create it (labelled pod-security.kubernetes.io/enforce=restricted) or map the environment to an existing one.");
            }

            await CreateIfMissingAsync("namespaces", null, (c, ct) => c.CoreV1.CreateNamespaceAsync(KubernetesObjectBuilder.Namespace(ns), cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            Log.NamespaceCreated(_logger, ns);
        }

        _namespaces[ns] = true;
    }

    private async Task CreateIfMissingAsync<T>(string resource, string? ns, Func<IKubernetes, CancellationToken, Task<T>> create, CancellationToken cancellationToken)
    {
        try
        {
            await _api.CallAsync("create", resource, ns, create, cancellationToken).ConfigureAwait(false);
        }
        catch (OrchestrationException ex) when (ex.InnerException is k8s.Autorest.HttpOperationException http && KubernetesApi.TryStatus(http)?.Reason == "AlreadyExists")
        {
            // Idempotent: it is there already (created by an earlier attempt or revision).
        }
    }

    private static async Task<T?> ReadOrNullAsync<T>(Func<Task<T>> read)
        where T : class
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (k8s.Autorest.HttpOperationException ex) when (ex.Response?.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task AuditRelaxationsAsync(WorkloadRevision revision, DockLockEffectiveSettings docklock, CancellationToken cancellationToken)
    {
        if (docklock.Relaxations.Count == 0 || !_auditedRevisions.TryAdd(revision.DeploymentId + "/" + revision.Component.Id + "/" + revision.Revision.ToString(CultureInfo.InvariantCulture), true))
        {
            return;
        }

        foreach (var relaxation in docklock.Relaxations)
        {
            Log.DockLockRelaxed(_logger, relaxation.Setting, revision.DeploymentId, revision.Component.Id, revision.Revision, relaxation.Reason);
            if (_audit is not null)
            {
                await _audit.AppendAsync(
                    new AuditEvent(
                        _timeProvider.GetUtcNow(),
                        OrchestrationActor.Current.Id,
                        DockLockSettings.RelaxationAuditAction,
                        revision.DeploymentId,
                        "applied",
                        new Dictionary<string, string?>
                        {
                            ["component"] = revision.Component.Id,
                            ["revision"] = revision.Revision.ToString(CultureInfo.InvariantCulture),
                            ["setting"] = relaxation.Setting,
                            ["value"] = relaxation.Value,
                            ["reason"] = relaxation.Reason,
                            ["runtime"] = Name,
                        }),
                    cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
