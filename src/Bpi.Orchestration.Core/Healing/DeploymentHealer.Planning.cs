using System.Globalization;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Healing;

/// <summary>Planning a repair: what differs between the serving revision and what the runtime reports.</summary>
internal sealed partial class DeploymentHealer
{
    private const int LogLines = 20;

    private async Task<Repair?> PlanRepairAsync(DeploymentRecord record, RevisionSpec stable, IReadOnlyList<WorkloadInstance> observed, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var steps = new List<RolloutStep>();
        var reasons = new List<string>();
        var replaced = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var routed = new List<string>();
        var routedTo = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var failed = new List<(ComponentHealth Health, WorkloadInstance Instance)>();
        var hasRouter = _entry.StepContext?.Router is not null;
        var number = stable.Number;
        lock (_gate)
        {
            ForgetProbes(observed);
            foreach (var component in ComponentOrder.Sort(stable.Spec.Components))
            {
                var health = Get(component.Id);
                var mine = new List<WorkloadInstance>();
                for (var i = 0; i < observed.Count; i++)
                {
                    if (observed[i].Revision == number && string.Equals(observed[i].ComponentId, component.Id, StringComparison.Ordinal))
                    {
                        mine.Add(observed[i]);
                    }
                }

                Forget(health, mine);
                var dead = mine.Where(i => i.IsTerminated).ToList();
                var notLive = mine.Where(i => !i.IsTerminated && IsNotLive(i.InstanceId)).ToList();
                foreach (var instance in mine)
                {
                    if (instance.State == InstanceState.Running && (instance.Health == InstanceHealth.Unhealthy || IsNotReady(instance.InstanceId) || notLive.Contains(instance)))
                    {
                        health.OutOfTraffic.Add(instance.InstanceId);
                    }
                    else
                    {
                        health.OutOfTraffic.Remove(instance.InstanceId);
                    }
                }

                foreach (var instance in dead.Concat(notLive))
                {
                    if (health.Counted.Add(instance.InstanceId))
                    {
                        health.RegisterFailure(now, Options);
                        health.LastExitCode = instance.ExitCode;
                        health.LastFailure = Describe(instance, notLive.Contains(instance));
                        failed.Add((health, instance));
                    }
                }

                var budget = component.Restart is { Kind: RestartPolicyKind.OnFailure, MaxRestarts: { } max } ? Math.Max(0, max - health.Restarts) : int.MaxValue;
                var replaceable = dead.Where(i => component.Restart.Allows(i.ExitCode, i.State == InstanceState.Failed, health.Restarts))
                    .Concat(notLive.Where(_ => component.Restart.Allows(null, failed: true, health.Restarts)))
                    .Take(budget)
                    .ToList();
                var kept = dead.Count + notLive.Count - replaceable.Count;
                var backingOff = replaceable.Count > 0 && health.NextRestartAt > now;
                if (backingOff)
                {
                    ScheduleWakeAt(health.NextRestartAt!.Value, now);
                    kept += replaceable.Count;
                    replaceable.Clear();
                }

                var keptDead = dead.Count(d => !replaceable.Contains(d));
                var missing = component.Replicas - mine.Count;
                var ready = new HashSet<string>(mine.Where(i => i.State == InstanceState.Running && !health.OutOfTraffic.Contains(i.InstanceId)).Select(i => i.InstanceId), StringComparer.Ordinal);
                var routable = hasRouter && component.Ports.Count > 0;
                var trafficChanged = routable && (health.Routed is null ? ready.Count != mine.Count : !health.Routed.SetEquals(ready));
                var converge = replaceable.Count > 0 || missing != 0;

                SetState(health, backingOff ? HealingState.CrashLoopBackOff
                    : kept > 0 ? HealingState.Degraded
                    : converge || trafficChanged || health.OutOfTraffic.Count > 0 ? HealingState.Healing
                    : HealingState.Healthy);
                if (health.State == HealingState.Healthy && health.LastFailureAt is { } last && now - last >= Options.CrashLoopResetAfter)
                {
                    health.Consecutive = 0;
                }

                if (!converge && !trafficChanged)
                {
                    continue;
                }

                if (trafficChanged && ready.Count > 0)
                {
                    // The dead and the not ready leave traffic first, before anything is replaced.
                    steps.Add(new SetTrafficStep(component.Id, TrafficWeights.AllTo(number)));
                    routedTo[component.Id] = ready;
                }

                if (!converge)
                {
                    if (ready.Count > 0)
                    {
                        reasons.Add(string.Create(CultureInfo.InvariantCulture, $"{component.Id}: route {ready.Count} ready instance(s) of {mine.Count}"));
                    }

                    continue;
                }

                if (replaceable.Count > 0)
                {
                    var ids = replaceable.Select(i => i.InstanceId).ToList();
                    steps.Add(new RemoveInstancesStep(component.Id, number, ids));
                    replaced[component.Id] = ids;
                    reasons.Add($"{component.Id}: replace {string.Join(", ", replaceable.Select(i => i.InstanceId + " (" + Describe(i, notLive.Contains(i)) + ")"))}");
                }

                if (missing != 0)
                {
                    reasons.Add(string.Create(CultureInfo.InvariantCulture, $"{component.Id}: {mine.Count} instance(s) of {component.Replicas} desired"));
                }

                steps.Add(new ScaleRevisionStep(component.Id, number, component.Replicas));
                var minReady = component.Replicas - kept - health.OutOfTraffic.Count(id => replaceable.All(r => r.InstanceId != id));
                if (keptDead == 0 && minReady > 0)
                {
                    steps.Add(new AwaitReadyStep(component.Id, number, minReady));
                    if (routable)
                    {
                        steps.Add(new SetTrafficStep(component.Id, TrafficWeights.AllTo(number)));
                        routed.Add(component.Id);
                    }
                }
            }
        }

        if (ConvergePlans.Cleanup(record, number, observed) is { } cleanup)
        {
            // Drift: instances of ours that belong to no desired revision (left by a crash) are removed.
            steps.AddRange(cleanup.Steps);
            reasons.Add("remove instances of revisions that should not run");
        }

        await FetchLogsAsync(failed, cancellationToken).ConfigureAwait(false);
        return steps.Count == 0
            ? null
            : new Repair(new RolloutPlan(stable.Spec.Name, RolloutKind.Repair, "self-healing", number, number, steps), string.Join("; ", reasons), replaced, routed, routedTo);
    }

    /// <summary>Drops what is remembered of instances the runtime no longer reports.</summary>
    private void Forget(ComponentHealth health, List<WorkloadInstance> mine)
    {
        health.Counted.RemoveWhere(id => !mine.Exists(i => i.InstanceId == id));
        health.OutOfTraffic.RemoveWhere(id => !mine.Exists(i => i.InstanceId == id));
        foreach (var id in health.InstanceRestarts.Keys.Where(id => !mine.Exists(i => i.InstanceId == id)).ToList())
        {
            health.InstanceRestarts.Remove(id);
        }
    }

    private static string Describe(WorkloadInstance instance, bool notLive)
        => notLive ? "failed its liveness check"
            : (instance.State == InstanceState.Failed ? "failed" : "exited")
              + (instance.ExitCode is { } code ? " with exit code " + code.ToString(CultureInfo.InvariantCulture) : "")
              + (instance.Message is null ? "" : ": " + instance.Message);

    private async Task FetchLogsAsync(List<(ComponentHealth Health, WorkloadInstance Instance)> failed, CancellationToken cancellationToken)
    {
        foreach (var (health, instance) in failed)
        {
            IReadOnlyList<string> lines;
            try
            {
                lines = await _loop.Runtime!.GetLogTailAsync(instance.InstanceId, LogLines, cancellationToken).ConfigureAwait(false);
            }
            catch (OrchestrationException)
            {
                lines = [];
            }

            lock (_gate)
            {
                health.LastLogLines = lines;
            }
        }
    }

    /// <summary>Wakes the healer at <paramref name="due"/> (an earlier wake already set stands: <see cref="HealingWakes"/> keeps it); called under the lock.</summary>
    private void ScheduleWakeAt(DateTimeOffset due, DateTimeOffset now)
    {
        if (_stopped)
        {
            return;
        }

        if (due <= now || !_loop.Wakes.Schedule(this, due))
        {
            // Already due: a pass now (or, from inside a pass, one more after it) rather than a wake.
            RequestPass();
        }
    }

    /// <summary>The wake asked for with <see cref="ScheduleWakeAt"/> is due (called by <see cref="HealingWakes"/>).</summary>
    public void OnDue() => Wake();
}
