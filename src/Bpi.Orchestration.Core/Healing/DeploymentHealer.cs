using System.Diagnostics;
using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration.Healing;

/// <summary>
/// Keeps one deployment at its desired state between rollouts: compares the serving revision's components with what the
/// runtime reports and repairs the difference with a small <see cref="RolloutKind.Repair"/> plan run by the one executor
/// (so it is audited and visible in events like any plan). Passes run one at a time; a wake during a pass runs one more.
/// A plan run that begins (rollout, scale, destroy) cancels the repair under way (<see cref="CancelRepair"/>).
/// Every runtime call a pass or a probe round makes carries a token linked to the healer's lifetime, so
/// <see cref="StopAsync"/> cancels what is in flight (an engine call that never answers included) and then awaits it:
/// nothing of the healer outlives the orchestrator.
/// </summary>
internal sealed partial class DeploymentHealer : IDisposable, IWakeable
{
    private readonly DeploymentEntry _entry;
    private readonly HealingLoop _loop;
    private readonly Lock _gate; // the deployment's (DeploymentEntry.Gate)
    private Dictionary<string, ComponentHealth>? _components; // made when a pass first looks at a component
    private CancellationTokenSource? _lifetime; // made for the first pass or probe round: a deployment destroyed first needs none
    private CancellationTokenSource? _passCts;
    private Task _pass = Task.CompletedTask;
    private int _wanted;
    private bool _passRunning;
    private bool _stopped;
    private bool _repairing;

    public DeploymentHealer(DeploymentEntry entry, HealingLoop loop)
    {
        _entry = entry;
        _loop = loop;
        _gate = entry.Gate;
    }

    private TimeProvider Time => _loop.Time;

    private OrchestrationOptions Options => _loop.Options;

    /// <summary>The token of the healer's lifetime (under the lock): cancelled when it stops.</summary>
    private CancellationToken LifetimeToken => (_lifetime ??= new CancellationTokenSource()).Token;

    /// <summary>Whether an instance of the deployment is out of traffic because it is not ready.</summary>
    public bool IsOutOfTraffic(string instanceId)
    {
        if (Volatile.Read(ref _components) is null)
        {
            // No pass has looked at a component yet, so none has taken an instance out of traffic.
            return false;
        }

        lock (_gate)
        {
            foreach (var component in _components!.Values)
            {
                if (component.OutOfTraffic.Contains(instanceId))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Asks for a pass; runs one now unless one runs (then it runs one more after it). A deployment self-healing may not
    /// act on now (destroyed, mid-plan, not owned) gets no pass: the pass would find that first and stop, and whatever
    /// makes it actionable again (a plan run ending, the lease won, the resync) wakes it.
    /// </summary>
    public void Wake()
    {
        if (!_loop.ShouldAct(_entry))
        {
            return;
        }

        lock (_gate)
        {
            RequestPass();
        }
    }

    /// <summary>Asks for a pass (under the lock): starts one unless one runs, which then runs once more.</summary>
    private void RequestPass()
    {
        if (_stopped)
        {
            return;
        }

        _wanted = 1;
        if (_passRunning)
        {
            return;
        }

        _passRunning = true;
        using (ExecutionContext.SuppressFlow())
        {
            _pass = Task.Run(RunPassesAsync);
        }
    }

    /// <summary>
    /// How long after a plan run ends the healer first looks at what it left. The run has just converged and observed the
    /// deployment, so nothing is lost by waiting a moment, and a plan that follows at once (an update, a destroy) finds no
    /// pass to cancel and wait out.
    /// </summary>
    internal static readonly TimeSpan AfterRunDelay = TimeSpan.FromSeconds(1);

    /// <summary>Asks for a pass <see cref="AfterRunDelay"/> after a plan run of the deployment ended.</summary>
    public void WakeAfterRun()
    {
        if (!_loop.ShouldAct(_entry))
        {
            // Nothing to look at (a destroy, say, just ended): no timer that keeps the deployment alive for nothing.
            return;
        }

        lock (_gate)
        {
            if (!_stopped)
            {
                // The wakes read the clock for the delay (once: this runs after every plan run).
                _loop.Wakes.ScheduleAfter(this, AfterRunDelay);
            }
        }
    }

    /// <summary>Cancels the repair under way, if any: a plan run of the deployment's own begins and wins.</summary>
    public void CancelRepair()
    {
        CancellationTokenSource? pass;
        lock (_gate)
        {
            pass = _passCts;
        }

        // The whole pass: an observation that waits on the runtime must not hold the plan run up either. Cancelled outside
        // the lock, which is the deployment's: cancelling runs the callbacks registered on the token, and none may run
        // under it.
        CancelUnlessEnded(pass);
    }

    /// <summary>Cancels <paramref name="source"/>; one already disposed belonged to a pass or a life that has ended.</summary>
    private static void CancelUnlessEnded(CancellationTokenSource? source)
    {
        try
        {
            source?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Ended meanwhile: nothing left to cancel.
        }
    }

    /// <summary>Completes when no pass runs (the cancelled repair has unwound), so a plan that begins does not race it.</summary>
    public Task WaitIdleAsync()
    {
        if (Volatile.Read(ref _pass).IsCompleted)
        {
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            return _pass.IsCompleted ? Task.CompletedTask : _pass.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Stops the healer without waiting: no pass or probe round starts from now on, and the ones in flight are cancelled
    /// (their runtime calls included). <see cref="StopAsync"/> then awaits them.
    /// </summary>
    public void RequestStop()
    {
        CancellationTokenSource? lifetime;
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            _loop.Wakes.Cancel(this);
            _probeTimer?.Dispose();
            _probeTimer = null;
            lifetime = _lifetime;
        }

        // Outside the deployment's lock (the token's callbacks run here); Dispose may have disposed it meanwhile.
        CancelUnlessEnded(lifetime);
    }

    /// <summary>Stops the healer (<see cref="RequestStop"/>) and completes when its pass and probe round have unwound.</summary>
    public async Task StopAsync()
    {
        RequestStop();
        Task pass;
        Task probeRound;
        lock (_gate)
        {
            pass = _pass;
            probeRound = _probeRound;
        }

        await pass.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await probeRound.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        RequestStop();
        lock (_gate)
        {
            _lifetime?.Dispose();
        }
    }

    /// <summary>The healing state of the deployment and its components, for status.</summary>
    public (HealingState State, IReadOnlyList<ComponentHealing> Components) GetStatus()
    {
        lock (_gate)
        {
            var state = _repairing ? HealingState.Healing : HealingState.Healthy;
            if (_components is null)
            {
                return (state, []);
            }

            var list = new List<ComponentHealing>(_components.Count);
            foreach (var component in _components.Values)
            {
                list.Add(component.ToStatus());
                state = (HealingState)Math.Max((int)state, (int)component.State);
            }

            return (state, list);
        }
    }

    private async Task RunPassesAsync()
    {
        while (true)
        {
            CancellationTokenSource pass;
            lock (_gate)
            {
                if (_wanted == 0 || _stopped)
                {
                    _passRunning = false;
                    return;
                }

                _wanted = 0;

                // Linked to the lifetime: stopping cancels the pass; a plan run that begins cancels it alone (CancelRepair).
                pass = _passCts = CancellationTokenSource.CreateLinkedTokenSource(LifetimeToken);
            }

            try
            {
                await PassAsync(pass).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (pass.IsCancellationRequested)
            {
                // Stopping, or a plan run of the deployment's own began: it wins, and what is left is looked at after it.
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A pass that cannot observe the runtime (engine down) tries again on the next event, when the runtime's circuit closes, or on the resync.
                Log.HealingPassFailed(_loop.Recorder.Logger, ex, _entry.DeploymentId);
            }
            finally
            {
                lock (_gate)
                {
                    // Under the lock CancelRepair takes, so it never cancels a disposed source.
                    _passCts = null;
                    pass.Dispose();
                }
            }
        }
    }

    /// <summary>One comparison of desired and observed state, and the repair of the difference.</summary>
    private async Task PassAsync(CancellationTokenSource pass)
    {
        var cancellationToken = pass.Token;
        if (!_loop.ShouldAct(_entry) || _loop.Runtime is not { } runtime)
        {
            return;
        }

        // The generation is read before the record: a plan run that begins after this makes the repair stale.
        var generation = _entry.WorkGeneration;
        var record = _entry.Record;
        if (!_loop.StillCurrent(_entry, generation, record))
        {
            return;
        }

        var stable = record.FindRevision(record.StableRevision!.Value);
        if (stable is null)
        {
            return;
        }

        var observed = await _loop.RuntimePipeline.ExecuteAsync(
            static (s, ct) => s.runtime.GetInstancesAsync(s.id, cancellationToken: ct),
            (runtime, id: _entry.DeploymentId),
            cancellationToken).ConfigureAwait(false);
        EnsureProbing(stable);
        var now = Time.GetUtcNow();
        var repair = await PlanRepairAsync(record, stable, observed, now, cancellationToken).ConfigureAwait(false);
        if (repair is null)
        {
            return;
        }

        await RunRepairAsync(repair, stable, generation, record, pass).ConfigureAwait(false);
    }

    private async Task RunRepairAsync(Repair repair, RevisionSpec stable, long generation, DeploymentRecord planned, CancellationTokenSource cts)
    {
        lock (_gate)
        {
            // Checked again under the lock a plan run's CancelRepair takes: a run that began since the pass started wins.
            if (_stopped || cts.IsCancellationRequested || !_loop.StillCurrent(_entry, generation, planned))
            {
                return;
            }

            _repairing = true;
        }

        var deploymentId = _entry.DeploymentId;
        var recorder = _loop.Recorder;
        Log.Repairing(recorder.Logger, deploymentId, repair.Reason);
        recorder.Events.Publish(deploymentId, DeploymentEventKind.Progress, _entry.Record.State, "self-healing: " + repair.Reason);
        string outcome = "succeeded";
        string? error = null;
        try
        {
            var guard = new RepairGuard(this, generation, planned, cts);
            await _loop.Executor.RunAsync(guard, _entry.StepContext!, repair.Plan, 0, cts.Token).ConfigureAwait(false);
            await AfterRepairAsync(repair, stable, cts.Token).ConfigureAwait(false);
            if (HealingLoop.IsLeftByAFailedRollback(planned))
            {
                await CompleteFailedRollbackAsync(stable, generation, planned).ConfigureAwait(false);
            }

            lock (_gate)
            {
                // One more pass finds what the repair left: healthy, or the next difference.
                _wanted = 1;
            }
        }
        catch (RolloutStepFailedException failed)
        {
            outcome = "failed";
            error = failed.Error.Message;
            Log.RepairFailed(recorder.Logger, failed.Error, deploymentId);
            OnRepairFailed(repair);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            outcome = "cancelled";
            error = _stopped ? "the orchestrator is stopping" : "a plan run of the deployment began (the repair's record is superseded)";
        }
        finally
        {
            lock (_gate)
            {
                _repairing = false;
            }

            _entry.Progress.Clear();
        }

        var data = new AuditData(
        [
            new("revision", stable.Number.ToString(CultureInfo.InvariantCulture)),
            new("reason", repair.Reason),
            new("replaced", string.Join(",", repair.Replaced.SelectMany(r => r.Value))),
            new("error", error),
        ]);
        await recorder.AuditAsync(OrchestrationActor.System.Id, "deployment.repaired", deploymentId, outcome, data).ConfigureAwait(false);
        recorder.Events.Publish(deploymentId, DeploymentEventKind.Progress, _entry.Record.State, $"self-healing {outcome}: {repair.Reason}" + (error is null ? "" : $" ({error})"));
    }

    /// <summary>
    /// After a repair brought the stable revision of a deployment left <see cref="DeploymentState.Failed"/> by a failed
    /// rollback back: records the rollback as done (<see cref="DeploymentState.RolledBack"/>, no target revision, so the
    /// next pass removes what is left of the failed revision) and audits it — unless a plan run began meanwhile.
    /// </summary>
    private async Task CompleteFailedRollbackAsync(RevisionSpec stable, long generation, DeploymentRecord planned)
    {
        if (!_loop.StillCurrent(_entry, generation, planned))
        {
            return;
        }

        var message = string.Create(CultureInfo.InvariantCulture, $"Self-healing brought revision {stable.Number} back after the rollback had failed.");
        var after = await _entry.UpdateAsync(
            static (r, s) => r is { State: DeploymentState.Failed } && r.StableRevision == s.Number
                ? r with { State = DeploymentState.RolledBack, TargetRevision = null, Message = s.Message + " " + r.Message, RollbackCount = r.RollbackCount + 1 }
                : r,
            (stable.Number, Message: message),
            message).ConfigureAwait(false);
        if (after.State == DeploymentState.RolledBack)
        {
            await _loop.Recorder.AuditAsync(
                OrchestrationActor.System.Id, "rollout.rolled_back", _entry.DeploymentId, "rolled_back",
                new AuditData([new("reason", message), new("stable.revision", stable.Number.ToString(CultureInfo.InvariantCulture))])).ConfigureAwait(false);
        }
    }

    /// <summary>Counts the replacements and hands each new instance the restart count of the one it replaced.</summary>
    private async Task AfterRepairAsync(Repair repair, RevisionSpec stable, CancellationToken cancellationToken)
    {
        IReadOnlyList<WorkloadInstance>? after = null;
        if (repair.Replaced.Count > 0)
        {
            after = await _loop.RuntimePipeline.ExecuteAsync(
                static (s, ct) => s.runtime.GetInstancesAsync(s.id, cancellationToken: ct),
                (runtime: _loop.Runtime!, id: _entry.DeploymentId),
                cancellationToken).ConfigureAwait(false);
        }

        lock (_gate)
        {
            foreach (var (componentId, replaced) in repair.Replaced)
            {
                var health = Get(componentId);
                health.Restarts += replaced.Count;
                var inherited = new Queue<int>(replaced.Select(id => health.InstanceRestarts.GetValueOrDefault(id) + 1));
                foreach (var id in replaced)
                {
                    health.InstanceRestarts.Remove(id);
                }

                foreach (var instance in after!.Where(i => i.Revision == stable.Number && i.ComponentId == componentId))
                {
                    if (!health.InstanceRestarts.ContainsKey(instance.InstanceId))
                    {
                        health.InstanceRestarts[instance.InstanceId] = inherited.Count > 0 ? inherited.Dequeue() : 0;
                    }
                }

                var tags = new TagList { { "deployment.name", stable.Spec.Name }, { "component.id", componentId } };
                _loop.Recorder.Telemetry.InstanceRestarts.Add(replaced.Count, tags);
            }

            foreach (var (componentId, ready) in repair.RoutedTo)
            {
                Get(componentId).Routed = ready;
            }

            foreach (var componentId in repair.Routed)
            {
                // The last step routed every ready instance.
                Get(componentId).Routed = null;
            }
        }
    }

    private void OnRepairFailed(Repair repair)
    {
        var now = Time.GetUtcNow();
        lock (_gate)
        {
            foreach (var componentId in repair.Replaced.Keys.Concat(repair.Routed).Distinct(StringComparer.Ordinal))
            {
                var health = Get(componentId);
                health.RegisterFailure(now, Options);
                SetState(health, health.Consecutive > 1 ? HealingState.CrashLoopBackOff : HealingState.Healing);
                health.Routed = new HashSet<string>(StringComparer.Ordinal); // unknown: route again on the next pass
                ScheduleWakeAt(health.NextRestartAt!.Value, now);
            }
        }
    }

    /// <summary>
    /// Sets a component's healing state (under the healer's lock). Entering the crash-loop back-off is published once as
    /// <see cref="DeploymentEventKind.CrashLooping"/> (alerts watch it); staying in it publishes nothing more.
    /// </summary>
    private void SetState(ComponentHealth health, HealingState state)
    {
        var entering = state == HealingState.CrashLoopBackOff && health.State != HealingState.CrashLoopBackOff;
        health.State = state;
        if (entering)
        {
            var record = _entry.Record;
            _loop.Recorder.Events.Publish(
                _entry.DeploymentId,
                DeploymentEventKind.CrashLooping,
                record.State,
                string.Create(CultureInfo.InvariantCulture, $"component '{health.ComponentId}' is crash-looping: {health.Consecutive} failures in a row, next restart at {health.NextRestartAt:O}") + (health.LastFailure is null ? "" : $" (last: {health.LastFailure})"),
                new EventDetails(Revision: record.StableRevision));
        }
    }

    private ComponentHealth Get(string componentId)
    {
        var components = _components ??= new Dictionary<string, ComponentHealth>(StringComparer.Ordinal);
        if (!components.TryGetValue(componentId, out var health))
        {
            health = new ComponentHealth(componentId);
            components[componentId] = health;
        }

        return health;
    }

    /// <summary>
    /// The repair's observer: the deployment's own step recorder, with a check before each step that the record the repair
    /// was planned from is still current (<see cref="HealingLoop.StillCurrent"/>). A plan run that began since stops the
    /// repair before its next step acts (a traffic step never routes to a revision a rollout has moved away from); the run
    /// itself waits for the repair to unwind (<see cref="WaitIdleAsync"/>), so what it sets is what stays.
    /// </summary>
    private sealed class RepairGuard(DeploymentHealer healer, long generation, DeploymentRecord planned, CancellationTokenSource cts) : IRolloutObserver
    {
        private Recording.StepRecorder Inner => healer._entry.Steps;

        public ValueTask OnPlanStartedAsync(RolloutPlan plan, int startIndex, CancellationToken cancellationToken)
            => Inner.OnPlanStartedAsync(plan, startIndex, cancellationToken);

        public ValueTask OnStepStartedAsync(RolloutPlan plan, int index, DateTimeOffset? at, CancellationToken cancellationToken)
        {
            bool superseded;
            lock (healer._gate)
            {
                // Decided under the lock a plan run's BeginWork takes, as at the repair's start; cancelled outside it.
                superseded = !healer._loop.StillCurrent(healer._entry, generation, planned);
            }

            if (superseded)
            {
                cts.Cancel();
            }

            cts.Token.ThrowIfCancellationRequested();
            return Inner.OnStepStartedAsync(plan, index, at, cancellationToken);
        }

        public ValueTask<DateTimeOffset> OnStepCompletedAsync(RolloutPlan plan, int index, CancellationToken cancellationToken)
            => Inner.OnStepCompletedAsync(plan, index, cancellationToken);

        public ValueTask OnStepFailedAsync(RolloutPlan plan, int index, OrchestrationException error, CancellationToken cancellationToken)
            => Inner.OnStepFailedAsync(plan, index, error, cancellationToken);

        public ValueTask OnPlanCompletedAsync(RolloutPlan plan, CancellationToken cancellationToken)
            => Inner.OnPlanCompletedAsync(plan, cancellationToken);
    }

    /// <summary>A planned repair and what it is for.</summary>
    private sealed record Repair(
        RolloutPlan Plan,
        string Reason,
        Dictionary<string, List<string>> Replaced,
        List<string> Routed,
        Dictionary<string, HashSet<string>> RoutedTo);
}
