using System.Globalization;
using Bpi.Orchestration.Admission;
using Bpi.Orchestration.Recording;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration.Autoscaling;

/// <summary>
/// Horizontal autoscaling of every deployment of one orchestrator: every <see cref="OrchestrationOptions.AutoscalingInterval"/>
/// (on the <see cref="TimeProvider"/>) it measures each autoscaled component of each serving revision through the
/// runtime's <see cref="IWorkloadUtilization"/>, decides with <see cref="HpaCalculator"/> and applies a change as a scale
/// plan through the one executor (<see cref="DeploymentAdmission.ScaleEntryAsync"/>: audited, evented, undone on failure
/// like any scale). A deployment with a plan queued or running (a rollout, a rollback, a scale, a destroy) is left alone
/// until it settles; when a new revision serves, the count the previous one had is carried to it. One scale per
/// deployment per pass: the next component waits for the next pass. A runtime that scales itself
/// (<see cref="IWorkloadSelfScaling"/>, Kubernetes: an HPA) is left to it: the loop does not start. On a runtime that
/// neither reports utilisation nor scales itself only custom metrics are measured (admission refuses CPU and memory
/// targets there).
/// </summary>
internal sealed class AutoscalingLoop : IAsyncDisposable
{
    private readonly DeploymentRegistry _registry;
    private readonly DeploymentRecorder _recorder;
    private readonly DeploymentAdmission _admission;
    private readonly IWorkloadRuntime? _runtime;
    private readonly OrchestrationOptions _options;
    private readonly IReadOnlyList<IAutoscalingMetricSource> _metricSources;
    private CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private ITimer? _timer;
    private Task _pass = Task.CompletedTask;
    private bool _stopped;
    private bool _disposed;

    public AutoscalingLoop(DeploymentRegistry registry, DeploymentRecorder recorder, DeploymentAdmission admission, IWorkloadRuntime? runtime, OrchestrationOptions options, IReadOnlyList<IAutoscalingMetricSource>? metricSources = null)
    {
        _metricSources = metricSources ?? [];
        _registry = registry;
        _recorder = recorder;
        _admission = admission;
        _runtime = runtime;
        _options = options;
    }

    private TimeProvider Time => _recorder.Time;

    /// <summary>Starts the periodic passes (when autoscaling is on and a runtime is registered).</summary>
    public void Start()
    {
        if (!_options.Autoscaling || _runtime is null)
        {
            return;
        }

        if (Resilience.RuntimeCapabilities.SelfScaling(_runtime))
        {
            // The runtime does the autoscaling (Kubernetes: an HPA with the same targets, metrics and behaviour): the
            // orchestrator scaling the same components too would fight it.
            Log.AutoscalingLeftToRuntime(_recorder.Logger, _runtime.Name);
            return;
        }

        if (Resilience.RuntimeCapabilities.Utilization(_runtime) is null)
        {
            Log.AutoscalingUnsupported(_recorder.Logger, _runtime.Name);
        }

        lock (_gate)
        {
            if (_disposed || _timer is not null)
            {
                return;
            }

            if (_stopped)
            {
                // Started again after a stop: the cancelled source of the last run is replaced (its pass has unwound).
                _stopping.Dispose();
                _stopping = new CancellationTokenSource();
                _stopped = false;
            }

            _timer = Time.CreateTimer(static s => ((AutoscalingLoop)s!).Tick(), this, _options.AutoscalingInterval, _options.AutoscalingInterval);
        }

        Log.AutoscalingStarted(_recorder.Logger, _runtime.Name, _options.AutoscalingInterval);
    }

    /// <summary>Stops the timer, cancels the pass under way and completes when it has unwound.</summary>
    public async Task StopAsync()
    {
        Task pass;
        bool first;
        lock (_gate)
        {
            first = !_stopped;
            _stopped = true;
            _timer?.Dispose();
            _timer = null;
            pass = _pass;
        }

        if (first)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        await pass.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Stops (<see cref="StopAsync"/>); may be called more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _stopping.Dispose();
    }

    /// <summary>A timer tick: starts a pass unless one still runs (a slow engine does not pile passes up).</summary>
    private void Tick()
    {
        lock (_gate)
        {
            if (_stopped || !_pass.IsCompleted)
            {
                return;
            }

            using (ExecutionContext.SuppressFlow())
            {
                var token = _stopping.Token;
                _pass = Task.Run(() => PassAsync(token));
            }
        }
    }

    /// <summary>Looks at every deployment once.</summary>
    internal async Task PassAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in _registry.Entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await AutoscaleAsync(entry, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not (OutOfMemoryException or OperationCanceledException))
            {
                // One deployment's trouble does not stop the others; it is looked at again on the next pass.
                Log.AutoscalingPassFailed(_recorder.Logger, ex, entry.DeploymentId);
            }
        }
    }

    private async Task AutoscaleAsync(DeploymentEntry entry, CancellationToken cancellationToken)
    {
        var record = entry.Record;
        if (record.StableRevision is not { } stable || record.FindRevision(stable) is not { } serving)
        {
            return;
        }

        var autoscaled = serving.Spec.Components.Where(c => c.Autoscaling is not null).ToList();
        if (autoscaled.Count == 0)
        {
            entry.Autoscaler = null;
            return;
        }

        var state = entry.Autoscaler ??= new ComponentAutoscalers();
        state.Retain([.. autoscaled.Select(c => c.Id)]);
        var now = Time.GetUtcNow();
        if (entry.Work is { } work || record.State is not (DeploymentState.Running or DeploymentState.RolledBack))
        {
            // A plan of the deployment's own is queued or running (or the deployment does not serve): wait until it settles.
            var why = entry.Work?.Kind == Rollout.RolloutKind.Scale
                ? "waiting for the scale under way"
                : string.Create(CultureInfo.InvariantCulture, $"paused while the deployment is {record.State}");
            foreach (var c in autoscaled)
            {
                var cs = state.For(c.Id);
                state.Decided(cs, new AutoscalingDecision(c.Id, stable, now, c.Replicas, c.Replicas, cs.LastDecision?.Metrics ?? [], why));
            }

            return;
        }

        if (!_recorder.Ownership.ShouldAct(entry.DeploymentId))
        {
            return;
        }

        // Null on a runtime that reports none: custom metrics still scale (admission refused CPU and memory targets there).
        var utilization = Resilience.RuntimeCapabilities.Utilization(_runtime);

        foreach (var component in autoscaled)
        {
            if (await AutoscaleComponentAsync(entry, state, stable, component, utilization, cancellationToken).ConfigureAwait(false))
            {
                return; // one scale plan at a time; the other components are looked at on the next pass
            }
        }
    }

    /// <summary>Decides and applies one component's count, then stores what the autoscaler remembers; returns whether a scale was queued.</summary>
    private async Task<bool> AutoscaleComponentAsync(DeploymentEntry entry, ComponentAutoscalers state, int stable, ComponentSpec component, IWorkloadUtilization? utilization, CancellationToken cancellationToken)
    {
        var cs = state.For(component.Id);
        if (cs.Revision == 0 && entry.Record.Autoscalers?.FirstOrDefault(m => m?.ComponentId == component.Id && m.Revision == stable) is { } memory)
        {
            // A restarted orchestrator (or one taking the deployment over) goes on from the stored memory, so it neither
            // scales in before the window it inherited ends nor adds faster than the rate policies allow.
            cs.Revision = stable;
            cs.Replicas = component.Replicas;
            cs.Spec = component.Autoscaling;
            cs.History.Restore(memory);
            cs.Stored = memory;
            // Passes that only re-confirmed the current count are not stored (see Unchanged): when that is the newest
            // memory, the restart re-confirms it now, which waits at most the downtime longer, never less.
            cs.Seeded = memory.Recommendations is { Count: > 0 } recommendations && recommendations[^1].Value != component.Replicas;
        }

        var scaled = false;
        try
        {
            scaled = await DecideAsync(entry, state, cs, stable, component, utilization, cancellationToken).ConfigureAwait(false);
            await StoreAsync(entry, cs, component.Id, component.Replicas, cancellationToken).ConfigureAwait(false);
            return scaled;
        }
        finally
        {
            // The decision shows once the pass has stored what it remembers: whoever reads it and moves on (the next
            // tick) finds the pass done. The Autoscaled event follows the decision, never precedes it, so a watcher that
            // reads status on the event finds the decision there (the scale plan may already have ended by then).
            if (cs.Pending is { } decision)
            {
                cs.Pending = null;
                state.Decided(cs, decision);
                if (scaled)
                {
                    PublishScaled(entry, decision);
                }
            }
        }
    }

    private void PublishScaled(DeploymentEntry entry, AutoscalingDecision decision) => _recorder.Events.Publish(
        entry.DeploymentId,
        DeploymentEventKind.Autoscaled,
        entry.Record.State,
        string.Create(CultureInfo.InvariantCulture, $"component {decision.ComponentId} scaled from {decision.CurrentReplicas} to {decision.DesiredReplicas} replicas: {decision.Reason}"));

    /// <summary>Keeps a decision until the pass ends (see <see cref="AutoscaleComponentAsync"/>).</summary>
    private static void Defer(ComponentAutoscaler cs, AutoscalingDecision decision) => cs.Pending = decision;

    /// <summary>
    /// Stores the component's memory with the deployment when it changed in a way a restart needs: a new scale, or a
    /// recommendation other than a re-confirmation of the current count (those are most passes, and a restart re-creates
    /// them conservatively). So a steady component costs no store write per pass.
    /// </summary>
    private async Task StoreAsync(DeploymentEntry entry, ComponentAutoscaler cs, string componentId, int current, CancellationToken cancellationToken)
    {
        var memory = cs.History.Save(componentId, cs.Revision);
        if (cs.Stored is { } stored && Unchanged(stored, memory, current))
        {
            return;
        }

        await entry.UpdateAsync(
            static (record, m) => record with { Autoscalers = [.. (record.Autoscalers ?? []).Where(a => a is not null && a.ComponentId != m.ComponentId && record.FindRevision(a.Revision) is not null), m] },
            memory,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        cs.Stored = memory;
    }

    /// <summary>Whether <paramref name="memory"/> adds nothing to <paramref name="stored"/> but expired entries dropped or the newest recommendation re-confirming <paramref name="current"/>.</summary>
    internal static bool Unchanged(AutoscalerMemory stored, AutoscalerMemory memory, int current)
    {
        if (stored.Revision != memory.Revision || memory.Scales.Any(s => !stored.Scales.Contains(s)))
        {
            return false;
        }

        var added = memory.Recommendations.Where(r => !stored.Recommendations.Contains(r)).ToList();
        return added.Count == 0 || (added.Count == 1 && ReferenceEquals(added[0], memory.Recommendations[^1]) && added[0].Value == current
            && stored.Recommendations.Count > 0 && stored.Recommendations[^1].Value == current);
    }

    /// <summary>Decides and applies one component's count; returns whether a scale was queued.</summary>
    private async Task<bool> DecideAsync(DeploymentEntry entry, ComponentAutoscalers state, ComponentAutoscaler cs, int stable, ComponentSpec component, IWorkloadUtilization? utilization, CancellationToken cancellationToken)
    {
        var spec = component.Autoscaling!;
        var now = Time.GetUtcNow();
        var current = component.Replicas;
        if (cs.Revision != stable)
        {
            // A new revision serves: carry the count the previous one had (as an HPA retargeted to the new Deployment does).
            var carried = cs.Revision != 0 && cs.Replicas is { } previous ? Math.Clamp(previous, spec.MinReplicas, spec.MaxReplicas) : current;
            var from = cs.Revision;
            cs.Revision = stable;
            cs.Replicas = current;
            cs.History.Clear();
            cs.Seeded = false;
            if (carried != current)
            {
                var reason = string.Create(CultureInfo.InvariantCulture, $"carried from revision {from}");
                return await ApplyAsync(entry, state, cs, new AutoscalingDecision(component.Id, stable, now, current, carried, [], reason), cancellationToken).ConfigureAwait(false);
            }
        }

        if (!Equals(cs.Spec, spec))
        {
            cs.Spec = spec;
            cs.History.Clear();
            cs.Seeded = false;
        }

        if (!cs.Seeded)
        {
            // As a new HPA does: the current count is the first recommendation, so a fresh autoscaler (a new revision,
            // a restarted orchestrator) waits out the scale-down window before it removes instances.
            cs.History.RecordRecommendation(now, current, spec.ScaleDown.StabilizationWindow);
            cs.Seeded = true;
        }

        var (samples, unread) = await MeasureAsync(entry, stable, component, current, utilization, cancellationToken).ConfigureAwait(false);
        if (samples.Count == 0 && unread.Count > 0)
        {
            // As the HPA: with no metric readable, nothing changes.
            Defer(cs, new AutoscalingDecision(component.Id, stable, now, current, current, [], "no metric could be read: " + string.Join("; ", unread)));
            return false;
        }

        var computation = HpaCalculator.Compute(spec, current, samples, now, cs.History, unread);
        cs.Replicas = current;
        var decision = new AutoscalingDecision(component.Id, stable, now, current, computation.Desired, computation.Readings, computation.Reason);
        if (!decision.Scaled)
        {
            Defer(cs, decision);
            return false;
        }

        return await ApplyAsync(entry, state, cs, decision, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Measures every target of one component: utilisation through the runtime (when the spec has a CPU or memory target)
    /// and each custom metric through the last source that can measure it. A target that cannot be read is skipped for
    /// this pass and logged, as the HPA does; the second list says which and why.
    /// </summary>
    private async Task<(List<MetricSample> Samples, List<string> Unread)> MeasureAsync(DeploymentEntry entry, int stable, ComponentSpec component, int current, IWorkloadUtilization? utilization, CancellationToken cancellationToken)
    {
        var spec = component.Autoscaling!;
        var samples = new List<MetricSample>(2 + spec.Metrics.Count);
        var unread = new List<string>();
        if (spec.EffectiveCpuUtilizationPercent is not null || spec.TargetMemoryUtilizationPercent is not null)
        {
            if (utilization is null)
            {
                unread.Add("utilisation: the runtime does not report it");
            }
            else
            {
                try
                {
                    var measured = await utilization.GetUtilizationAsync(entry.DeploymentId, component.Id, stable, cancellationToken).ConfigureAwait(false);
                    samples.AddRange(Samples(spec, component.Resources, measured));
                }
                catch (Exception ex) when (ex is OrchestrationException or IOException or HttpRequestException)
                {
                    Log.AutoscalingMeasureFailed(_recorder.Logger, ex, entry.DeploymentId, component.Id);
                    unread.Add("utilisation: " + ex.Message);
                }
            }
        }

        foreach (var metric in spec.Metrics)
        {
            var source = _metricSources.LastOrDefault(s => s.CanMeasure(metric.Query));
            if (source is null || entry.StepContext is not { } step)
            {
                unread.Add(metric.Name + ": no registered metric source measures it");
                continue;
            }

            try
            {
                var value = await source.MeasureAsync(metric.Query, new AutoscalingMetricContext(entry.DeploymentId, component.Id, stable, current, step), cancellationToken).ConfigureAwait(false);
                if (!double.IsFinite(value) || value < 0)
                {
                    throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, string.Create(CultureInfo.InvariantCulture, $"it measured {value}; a metric for autoscaling must be a finite number of at least 0"));
                }

                samples.Add(Custom(metric, value, current));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                Log.AutoscalingMetricFailed(_recorder.Logger, ex, entry.DeploymentId, component.Id, metric.Name);
                unread.Add(metric.Name + ": " + ex.Message);
            }
        }

        return (samples, unread);
    }

    /// <summary>
    /// A custom metric as a sample the calculator compares with its target: with an average-value target, the measured
    /// total divided by the instances (so the proposal is <c>ceil(total / target)</c>); with a value target, the value.
    /// </summary>
    internal static MetricSample Custom(AutoscalingMetric metric, double value, int current)
        => metric.TargetAverageValue is { } average
            ? new MetricSample(metric.Name, current == 0 ? value : value / current, average)
            : new MetricSample(metric.Name, value, metric.TargetValue!.Value);

    /// <summary>The metrics of one component: the average of the instances measured, in percent of what each requests.</summary>
    internal static List<MetricSample> Samples(AutoscalingSpec spec, ComponentResources resources, IReadOnlyList<InstanceUtilization> measured)
    {
        var samples = new List<MetricSample>(2);
        if (spec.EffectiveCpuUtilizationPercent is { } cpuTarget && resources.CpuCores > 0
            && measured.Where(m => m.CpuCores is not null).Select(m => m.CpuCores!.Value).ToList() is { Count: > 0 } cpu)
        {
            samples.Add(new MetricSample("cpu", cpu.Average() / resources.CpuCores * 100, cpuTarget));
        }

        if (spec.TargetMemoryUtilizationPercent is { } memoryTarget && resources.MemoryMb > 0
            && measured.Where(m => m.MemoryBytes is not null).Select(m => (double)m.MemoryBytes!.Value).ToList() is { Count: > 0 } memory)
        {
            samples.Add(new MetricSample("memory", memory.Average() / (resources.MemoryMb * 1024.0 * 1024.0) * 100, memoryTarget));
        }

        return samples;
    }

    private async Task<bool> ApplyAsync(DeploymentEntry entry, ComponentAutoscalers state, ComponentAutoscaler cs, AutoscalingDecision decision, CancellationToken cancellationToken)
    {
        Log.Autoscaling(_recorder.Logger, entry.DeploymentId, decision.ComponentId, decision.CurrentReplicas, decision.DesiredReplicas, decision.Reason);
        try
        {
            await _admission.ScaleEntryAsync(entry, decision.DesiredReplicas, decision.ComponentId, "autoscaler: " + decision.Reason, cancellationToken).ConfigureAwait(false);
        }
        catch (OrchestrationException ex)
        {
            // A rollout began in between, the capacity is exhausted, the deployment is being destroyed: try again later.
            Log.AutoscalingNotApplied(_recorder.Logger, ex, entry.DeploymentId, decision.ComponentId, decision.DesiredReplicas);
            Defer(cs, decision with { DesiredReplicas = decision.CurrentReplicas, Reason = decision.Reason + "; not applied: " + ex.Message });
            return false;
        }

        cs.History.RecordScale(decision.At, decision.DesiredReplicas - decision.CurrentReplicas);
        cs.Replicas = decision.DesiredReplicas;
        Defer(cs, decision); // published as Autoscaled when the pass ends (see AutoscaleComponentAsync)
        return true;
    }
}
