using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration;

/// <summary>Taking things down: destroying a deployment, and sweeping revisions that should no longer run.</summary>
internal sealed partial class RolloutRunner
{
    /// <summary>Tears a deployment down: scales every revision to zero (unless forced), removes its routes and everything the runtime holds of it, and marks it destroyed.</summary>
    public async Task DestroyAsync(DeploymentEntry entry, bool force, CancellationToken cancellationToken)
    {
        var runtime = RequireRuntime();
        var record = await entry.SetStateAsync(DeploymentState.Destroying, force ? "destroying (forced)" : "destroying").ConfigureAwait(false);
        var id = record.Id;
        if (!force)
        {
            // Graceful: scale every revision of every component to zero, dependents first.
            var instances = await runtime.GetInstancesAsync(id, cancellationToken: cancellationToken).ConfigureAwait(false);
            var order = ComponentOrder.Sort(record.CurrentSpec.Components);
            var groups = new List<(string ComponentId, int Revision, int Rank)>(1);
            for (var index = 0; index < instances.Count; index++)
            {
                var instance = instances[index];
                var group = (instance.ComponentId, instance.Revision, ComponentOrder.IndexOf(order, instance.ComponentId)); // -1 (scaled down last) for a component the spec no longer has
                if (!groups.Contains(group))
                {
                    groups.Add(group);
                }
            }

            // Dependents first; a stable insertion sort keeps the runtime's order among equals (a few groups at most).
            for (var i = 1; i < groups.Count; i++)
            {
                for (var j = i; j > 0 && groups[j - 1].Rank < groups[j].Rank; j--)
                {
                    (groups[j - 1], groups[j]) = (groups[j], groups[j - 1]);
                }
            }

            foreach (var (componentId, revision, _) in groups)
            {
                var workload = WorkloadFor(entry, componentId, revision);
                await RuntimePipeline.ExecuteAsync(static (s, ct) => s.runtime.EnsureReplicasAsync(s.workload, 0, ct), (runtime, workload), cancellationToken).ConfigureAwait(false);
            }
        }

        if (Router is not null)
        {
            // Every component any retained revision had, once each (usually one revision: no bookkeeping needed).
            List<string>? removed = record.Revisions.Count > 1 ? [] : null;
            for (var r = 0; r < record.Revisions.Count; r++)
            {
                var components = record.Revisions[r].Spec.Components;
                for (var c = 0; c < components.Count; c++)
                {
                    var componentId = components[c].Id;
                    if (removed is null || !removed.Contains(componentId, StringComparer.Ordinal))
                    {
                        removed?.Add(componentId);
                        await Router.RemoveAsync(TrafficRoute.ForComponent(id, componentId), cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }

        await RuntimePipeline.ExecuteAsync(static (s, ct) => s.runtime.RemoveDeploymentAsync(s.id, ct), (runtime, id), cancellationToken).ConfigureAwait(false);
        _ledger.Release(id);
        var now = Time.GetUtcNow();
        await entry.UpdateAsync(
            static (r, now) => r with
            {
                State = DeploymentState.Destroyed,
                Cursor = null,
                TargetRevision = null,
                Allocation = ResourceRequirements.None,
                CompletedAt = now,
            },
            now,
            "destroyed",
            at: now,
            cancellationToken: CancellationToken.None).ConfigureAwait(false);
        Telemetry.DeploymentsActive.Add(-1);
        await _recorder.AuditAsync(now, OrchestrationActor.Current.Id, "deployment.destroyed", id, "succeeded").ConfigureAwait(false);
        await _registry.OnDestroyedAsync(record).ConfigureAwait(false);
    }

    /// <summary>Scales every revision other than <paramref name="keep"/> to zero: a safety net after every plan, so no instance of an old or failed revision is left behind.</summary>
    private async Task CleanupStaleRevisionsAsync(DeploymentEntry entry, int keep)
    {
        var runtime = RequireRuntime();
        var instances = await runtime.GetInstancesAsync(entry.DeploymentId, cancellationToken: _stopping.Token).ConfigureAwait(false);

        // Usually nothing is stale: find out without grouping anything.
        var components = entry.Record.FindRevision(keep)?.Spec.Components;
        List<(string ComponentId, int Revision)>? stale = null;
        for (var index = 0; index < instances.Count; index++)
        {
            var instance = instances[index];
            var dropped = instance.Revision == keep && components is not null && ComponentOrder.IndexOf(components, instance.ComponentId) < 0;
            if ((instance.Revision != keep || dropped) && !(stale ??= []).Contains((instance.ComponentId, instance.Revision)))
            {
                stale.Add((instance.ComponentId, instance.Revision));
            }
        }

        if (stale is null)
        {
            return;
        }

        // Components the serving revision no longer has keep no instances of the serving revision number either.
        foreach (var (componentId, revision) in stale)
        {
            try
            {
                var workload = WorkloadFor(entry, componentId, revision);
                await RuntimePipeline.ExecuteAsync(static (s, ct) => s.runtime.EnsureReplicasAsync(s.workload, 0, ct), (runtime, workload), _stopping.Token).ConfigureAwait(false);
            }
            catch (OrchestrationException ex)
            {
                Log.CleanupFailed(_recorder.Logger, ex, entry.DeploymentId, revision);
            }
        }
    }

    private Runtime.WorkloadRevision WorkloadFor(DeploymentEntry entry, string componentId, int revision)
    {
        var record = entry.Record;
        var source = record.FindRevision(revision) ?? record.Revisions[^1];
        var spec = source.Spec;
        var component = ComponentOrder.Find(spec.Components, componentId)
            ?? record.Revisions.Select(r => ComponentOrder.Find(r.Spec.Components, componentId)).FirstOrDefault(c => c is not null)
            ?? new ComponentSpec { Id = componentId, Image = "(removed)", Replicas = 0 };
        return new Runtime.WorkloadRevision
        {
            OwnerId = _options.VmId,
            DeploymentId = record.Id,
            DeploymentName = spec.Name,
            AppId = spec.AppId,
            Environment = spec.Environment,
            Revision = revision,
            Component = component,
            Labels = spec.Labels,
        };
    }
}
