using System.Collections.Concurrent;
using System.Globalization;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.EncCluster;

/// <summary>
/// Decorates the registered <see cref="IWorkloadRuntime"/>: a revision of an EncCluster deployment
/// (<see cref="WorkloadRevision.EncCluster"/> set) runs with each member behind its <see cref="MemberProxy"/>. Members
/// learn their peers from <c>BPI_ENC_PEERS</c> (the peers' orchestrator-side addresses, which stay the same when a member
/// is replaced) and <c>BPI_ENC_CLUSTER_SIZE</c>; the instances are reported with the member's plain address first (so the
/// routing and the probes reach the member through mutual TLS) and its TLS listener second (named <c>enc-tls</c>).
/// Every other revision passes through untouched. On Docker (<see cref="EncDockerSidecars"/>) the members' TLS ends are
/// sidecars in their network namespaces and <c>BPI_ENC_PEERS</c> lists local addresses inside each member.
/// <para>
/// The decorator claims the autoscaling capabilities only where the inner runtime has them, since admission and the
/// autoscaler read them off the runtime they are given: it scales itself (<see cref="IWorkloadSelfScaling"/>) when the
/// inner runtime does, and it is an <see cref="IWorkloadUtilization"/> exactly when the inner runtime is one
/// (<see cref="Create"/> chooses the type), so a CPU or memory target over a runtime that cannot measure is refused at
/// admission instead of being accepted and never acted on.
/// </para>
/// </summary>
internal abstract class EncClusterWorkloadRuntime(IWorkloadRuntime inner, EncClusterManager manager)
    : IWorkloadRuntime, IWorkloadEvents, IWorkloadInstanceRemover, IWorkloadCommandRunner, IWorkloadInspector, IWorkloadSelfScaling, IAsyncDisposable
{
    /// <summary>The environment variable listing the peers' addresses, <c>host:port</c> comma-separated, in slot order.</summary>
    public const string PeersVariable = "BPI_ENC_PEERS";

    /// <summary>The environment variable holding the cluster size.</summary>
    public const string ClusterSizeVariable = "BPI_ENC_CLUSTER_SIZE";

    /// <summary>The name of the member's TLS endpoint in <see cref="WorkloadInstance.Endpoints"/>.</summary>
    public const string TlsEndpointName = "enc-tls";

    private readonly ConcurrentDictionary<(string DeploymentId, string ComponentId, int Revision), MemberSet> _sets = new();
    private readonly EncDockerSidecars? _docker = inner is DockerWorkloadRuntime docker ? new EncDockerSidecars(docker, manager) : null;

    public IWorkloadRuntime Inner => inner;

    /// <summary>The decorator of <paramref name="inner"/>: one that reports utilisation (passed through) when <paramref name="inner"/> does, one that does not otherwise.</summary>
    public static EncClusterWorkloadRuntime Create(IWorkloadRuntime inner, EncClusterManager manager)
        => inner is IWorkloadUtilization ? new Measured(inner, manager) : new Unmeasured(inner, manager);

    public string Name => inner.Name;

    public async ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revision);
        var key = (revision.DeploymentId, revision.Component.Id, revision.Revision);
        if (revision.EncCluster is not { } spec || replicas == 0)
        {
            await inner.EnsureReplicasAsync(revision, replicas, cancellationToken).ConfigureAwait(false);
            if (_docker is not null && revision.EncCluster is not null)
            {
                await _docker.ReconcileAsync(revision.DeploymentId, cancellationToken).ConfigureAwait(false);
            }

            if (replicas == 0 && _sets.TryRemove(key, out var retired))
            {
                await retired.DisposeAsync().ConfigureAwait(false);
            }

            return;
        }

        var identity = manager.GetOrCreate(revision.DeploymentId, revision.DeploymentName, spec);
        var set = _sets.GetOrAdd(key, k => new MemberSet(k.ComponentId, k.Revision, identity, manager, _docker));
        if (_docker is not null)
        {
            _docker.Revived ??= RefreshMembersAsync;
            set.EnsureSlots(Math.Max(spec.ClusterSize, 1));
            await inner.EnsureReplicasAsync(_docker.MemberRevision(revision, spec), replicas, cancellationToken).ConfigureAwait(false);
            await _docker.ReconcileAsync(revision.DeploymentId, cancellationToken).ConfigureAwait(false);
            set.Refresh(await inner.GetInstancesAsync(revision.DeploymentId, revision.Component.Id, revision.Revision, cancellationToken).ConfigureAwait(false));
            return;
        }

        var peers = set.EnsureSlots(Math.Max(spec.ClusterSize, 1));
        var environment = new Dictionary<string, string>(revision.Component.Environment, StringComparer.Ordinal)
        {
            [PeersVariable] = string.Join(',', peers.Select(p => p.ToString())),
            [ClusterSizeVariable] = spec.ClusterSize.ToString(CultureInfo.InvariantCulture),
        };
        await inner.EnsureReplicasAsync(revision with { Component = revision.Component with { Environment = environment } }, replicas, cancellationToken).ConfigureAwait(false);
        set.Refresh(await inner.GetInstancesAsync(revision.DeploymentId, revision.Component.Id, revision.Revision, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Re-reads a deployment's instances, so each member forwards to its instance's current address (a member restarted in place may publish another port).</summary>
    private async ValueTask RefreshMembersAsync(string deploymentId, CancellationToken cancellationToken)
        => _ = await GetInstancesAsync(deploymentId, cancellationToken: cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
    {
        var instances = await inner.GetInstancesAsync(deploymentId, componentId, revision, cancellationToken).ConfigureAwait(false);
        return Map(instances);
    }

    public async ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        await inner.RemoveDeploymentAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        foreach (var key in _sets.Keys.Where(k => k.DeploymentId == deploymentId).ToList())
        {
            if (_sets.TryRemove(key, out var set))
            {
                await set.DisposeAsync().ConfigureAwait(false);
            }
        }

        _docker?.Forget(deploymentId);
        manager.Remove(deploymentId);
    }

    public async ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default)
        => Map(await inner.ListOwnedAsync(cancellationToken).ConfigureAwait(false));

    public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default)
        => inner.GetLogTailAsync(instanceId, lines, cancellationToken);

    public IDisposable Subscribe(Action<WorkloadEvent> onEvent)
        => inner is IWorkloadEvents events ? events.Subscribe(onEvent) : NoSubscription.Instance;

    public async ValueTask RemoveInstanceAsync(string deploymentId, string instanceId, CancellationToken cancellationToken = default)
    {
        if (inner is not IWorkloadInstanceRemover remover)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The {inner.Name} runtime cannot remove a running instance by id (it does not implement IWorkloadInstanceRemover); use a runtime that supports it.");
        }

        await remover.RemoveInstanceAsync(deploymentId, instanceId, cancellationToken).ConfigureAwait(false);
        if (_docker is not null)
        {
            await _docker.RemoveSidecarOfAsync(instanceId, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask<CommandResult> ExecAsync(WorkloadInstance instance, IReadOnlyList<string> command, CancellationToken cancellationToken = default)
        => inner is IWorkloadCommandRunner runner
            ? runner.ExecAsync(instance, command, cancellationToken)
            : throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The {inner.Name} runtime cannot run commands in an instance (IWorkloadCommandRunner); use an HTTP, TCP or gRPC check.");

    public ValueTask<IReadOnlyList<WorkloadInspection>> InspectDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
        => inner is IWorkloadInspector inspector ? inspector.InspectDeploymentAsync(deploymentId, cancellationToken) : new ValueTask<IReadOnlyList<WorkloadInspection>>([]);

    /// <summary>Whether the inner runtime scales autoscaled components itself (Kubernetes); the orchestrator's autoscaler then leaves them to it.</summary>
    public bool ScalesItself => inner is IWorkloadSelfScaling { ScalesItself: true };

    /// <summary>The members of a deployment, for <see cref="IEncClusterManager.GetMembers"/>.</summary>
    public IReadOnlyList<EncClusterMember> Members(string deploymentId)
        => [.. _sets.Where(p => p.Key.DeploymentId == deploymentId).OrderBy(p => p.Key.ComponentId, StringComparer.Ordinal).ThenBy(p => p.Key.Revision).SelectMany(p => p.Value.Describe())];

    private IReadOnlyList<WorkloadInstance> Map(IReadOnlyList<WorkloadInstance> instances)
    {
        if (_sets.IsEmpty || instances.Count == 0)
        {
            return instances;
        }

        var mapped = new List<WorkloadInstance>(instances.Count);
        foreach (var group in instances.GroupBy(i => (i.DeploymentId, i.ComponentId, i.Revision)))
        {
            if (_sets.TryGetValue(group.Key, out var set))
            {
                set.Refresh([.. group]);
                mapped.AddRange(group.Select(set.Map));
            }
            else
            {
                mapped.AddRange(group);
            }
        }

        return mapped;
    }

    public async ValueTask DisposeAsync()
    {
        _docker?.Dispose();
        foreach (var key in _sets.Keys.ToList())
        {
            if (_sets.TryRemove(key, out var set))
            {
                await set.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The decorator of a runtime that reports no utilisation: it reports none either.</summary>
    private sealed class Unmeasured(IWorkloadRuntime inner, EncClusterManager manager) : EncClusterWorkloadRuntime(inner, manager);

    /// <summary>The decorator of a runtime that reports utilisation: it passes the reads through (autoscaling of the components that are not EncClusters keeps working).</summary>
    private sealed class Measured(IWorkloadRuntime inner, EncClusterManager manager) : EncClusterWorkloadRuntime(inner, manager), IWorkloadUtilization
    {
        public ValueTask<IReadOnlyList<InstanceUtilization>> GetUtilizationAsync(string deploymentId, string componentId, int revision, CancellationToken cancellationToken = default)
            => ((IWorkloadUtilization)Inner).GetUtilizationAsync(deploymentId, componentId, revision, cancellationToken);
    }

    private sealed class NoSubscription : IDisposable
    {
        public static readonly NoSubscription Instance = new();

        public void Dispose()
        {
        }
    }

    /// <summary>The members of one component revision: one <see cref="MemberProxy"/> per slot, each pointed at an instance.</summary>
    private sealed class MemberSet(string componentId, int revision, ClusterIdentity identity, EncClusterManager manager, EncDockerSidecars? docker) : IAsyncDisposable
    {
        private readonly List<MemberProxy> _slots = [];
        private readonly Lock _gate = new();

        /// <summary>Makes sure the first <paramref name="count"/> slots exist and returns their plain addresses (the peers list).</summary>
        public IReadOnlyList<ServiceEndpoint> EnsureSlots(int count)
        {
            lock (_gate)
            {
                while (_slots.Count < count)
                {
                    _slots.Add(NewSlot());
                }

                return [.. _slots.Take(count).Select(s => s.PlainEndpoint)];
            }
        }

        private MemberProxy NewSlot()
            => new(_slots.Count.ToString(CultureInfo.InvariantCulture), identity, manager.Options, manager.Logger, terminatesTls: docker is null);

        /// <summary>Frees the slots of instances that are gone or ended, and gives each live instance without one a slot (the lowest free one).</summary>
        public void Refresh(IReadOnlyList<WorkloadInstance> instances)
        {
            lock (_gate)
            {
                var live = instances.Where(i => !i.IsTerminated && i.Endpoint is not null).ToDictionary(i => i.InstanceId, StringComparer.Ordinal);
                foreach (var slot in _slots)
                {
                    if (slot.InstanceId is { } id && !live.ContainsKey(id))
                    {
                        slot.Assign(null, null);
                    }
                }

                foreach (var instance in live.Values.OrderBy(i => i.StartedAt ?? DateTimeOffset.MaxValue).ThenBy(i => i.InstanceId, StringComparer.Ordinal))
                {
                    if (docker?.SlotOf(instance.InstanceId) is { } fixedSlot)
                    {
                        // On Docker a member's slot is its container's (its alias on the deployment network says so too).
                        while (_slots.Count <= fixedSlot)
                        {
                            _slots.Add(NewSlot());
                        }

                        foreach (var other in _slots.Where((s, i) => i != fixedSlot && s.InstanceId == instance.InstanceId))
                        {
                            other.Assign(null, null);
                        }

                        _slots[fixedSlot].Assign(instance.InstanceId, instance.Endpoint);
                        continue;
                    }

                    var current = _slots.Find(s => s.InstanceId == instance.InstanceId);
                    if (current is not null)
                    {
                        current.Assign(instance.InstanceId, instance.Endpoint);
                        continue;
                    }

                    var free = _slots.Find(s => s.InstanceId is null);
                    if (free is null)
                    {
                        free = NewSlot();
                        _slots.Add(free);
                    }

                    free.Assign(instance.InstanceId, instance.Endpoint);
                }
            }
        }

        public WorkloadInstance Map(WorkloadInstance instance)
        {
            MemberProxy? slot;
            lock (_gate)
            {
                slot = _slots.Find(s => s.InstanceId == instance.InstanceId);
            }

            if (slot is null)
            {
                return instance;
            }

            var name = instance.Endpoint?.Name is { } own && own != TlsEndpointName ? own : "http";
            return instance with { Endpoints = [slot.PlainEndpoint with { Name = name }, slot.TlsEndpoint] };
        }

        public IEnumerable<EncClusterMember> Describe()
        {
            lock (_gate)
            {
                return [.. _slots.Select((s, i) => new EncClusterMember(componentId, revision, i, s.InstanceId, s.TlsEndpoint, s.PlainEndpoint))];
            }
        }

        public async ValueTask DisposeAsync()
        {
            MemberProxy[] slots;
            lock (_gate)
            {
                slots = [.. _slots];
                _slots.Clear();
            }

            foreach (var slot in slots)
            {
                await slot.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
