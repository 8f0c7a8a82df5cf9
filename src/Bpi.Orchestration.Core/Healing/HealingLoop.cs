using Bpi.Orchestration.Health;
using Bpi.Orchestration.Recording;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Healing;

/// <summary>
/// Self-healing for every deployment of one orchestrator: wakes each deployment's <see cref="DeploymentHealer"/> when the
/// runtime reports a change (<see cref="IWorkloadEvents"/>) and on a periodic resync, and decides in one place whether a
/// deployment may be acted on (<see cref="ShouldAct"/>).
/// </summary>
internal sealed class HealingLoop : IAsyncDisposable
{
    private readonly DeploymentRegistry _registry;
    private IDisposable? _subscription;
    private ITimer? _resync;
    private volatile bool _running;

    public HealingLoop(DeploymentRegistry registry, DeploymentRecorder recorder, RolloutExecutor executor, IWorkloadRuntime? runtime, RuntimeRetry runtimePipeline, IReadOnlyList<IHealthProbe> probes, OrchestrationOptions options)
    {
        _registry = registry;
        Recorder = recorder;
        Executor = executor;
        Runtime = runtime;
        RuntimePipeline = runtimePipeline;
        Probes = probes;
        Options = options;
        Wakes = new HealingWakes(recorder.Time);
    }

    /// <summary>The timed wakes of every healer (one timer for all).</summary>
    public HealingWakes Wakes { get; }

    public DeploymentRecorder Recorder { get; }

    public RolloutExecutor Executor { get; }

    public IWorkloadRuntime? Runtime { get; }

    public RuntimeRetry RuntimePipeline { get; }

    public IReadOnlyList<IHealthProbe> Probes { get; }

    public OrchestrationOptions Options { get; }

    public TimeProvider Time => Recorder.Time;

    /// <summary>
    /// Whether self-healing may act on a deployment now: the loop runs, the deployment serves a revision and no plan of
    /// its own (rollout, rollback, scale, destroy) is queued or running, and this instance owns the deployment (with
    /// several instances on shared state, it holds the deployment's lease). The one place that decides it.
    /// </summary>
    public bool ShouldAct(DeploymentEntry entry)
        => _running
           && entry.Work is null
           && entry.Record is { StableRevision: not null } record
           && (record.State is DeploymentState.Running or DeploymentState.RolledBack || IsLeftByAFailedRollback(record))
           && Recorder.Ownership.ShouldAct(entry.DeploymentId);

    /// <summary>
    /// A rollout whose automatic rollback could not finish (the engine went away mid-rollout, say) leaves the deployment
    /// <see cref="DeploymentState.Failed"/> with its stable revision still recorded: self-healing brings that revision back,
    /// which is the rollback the spec asked for. With automatic rollback off, a failed deployment is the user's to resolve
    /// and is left as it is.
    /// </summary>
    public static bool IsLeftByAFailedRollback(DeploymentRecord record)
        => record is { State: DeploymentState.Failed, Cursor: null, StableRevision: not null } && record.CurrentSpec.Rollback.Automatic;

    /// <summary>
    /// Whether a repair planned from <paramref name="planned"/> may still act: <see cref="ShouldAct"/>, no plan run of the
    /// deployment's own began since the record was read (<paramref name="generation"/>), and the record still serves the
    /// same revision. Checked when the repair starts and before each of its steps.
    /// </summary>
    public bool StillCurrent(DeploymentEntry entry, long generation, DeploymentRecord planned)
        => ShouldAct(entry)
           && entry.WorkGeneration == generation
           && entry.Record.StableRevision == planned.StableRevision;

    /// <summary>Starts listening to the runtime's events and the periodic resync, and looks at every deployment once.</summary>
    public void Start()
    {
        if (!Options.SelfHealing || Runtime is null)
        {
            return;
        }

        _running = true;
        if (Resilience.RuntimeCapabilities.Events(Runtime) is { } events)
        {
            _subscription = events.Subscribe(OnRuntimeEvent);
        }

        _resync = Time.CreateTimer(static s => ((HealingLoop)s!).WakeAll(), this, Options.HealingResyncInterval, Options.HealingResyncInterval);
        WakeAll();
    }

    /// <summary>
    /// Stops waking healers, cancels every pass, repair and probe round under way (their runtime calls included; what is
    /// left is repaired on the next start), and completes when all of them have unwound. Every healer is cancelled first
    /// and then all are awaited, so one that waits on a slow engine does not hold the others' cancellation up.
    /// </summary>
    public async Task StopAsync()
    {
        _running = false;
        _subscription?.Dispose();
        _subscription = null;
        if (_resync is not null)
        {
            await _resync.DisposeAsync().ConfigureAwait(false);
            _resync = null;
        }

        var healers = new List<DeploymentHealer>();
        foreach (var entry in _registry.Entries)
        {
            if (entry.Healer is { } healer)
            {
                healer.RequestStop();
                healers.Add(healer);
            }
        }

        var stopping = new Task[healers.Count];
        for (var i = 0; i < healers.Count; i++)
        {
            stopping[i] = healers[i].StopAsync();
        }

        await Task.WhenAll(stopping).ConfigureAwait(false);
        Wakes.Clear();
    }

    /// <summary>Stops (<see cref="StopAsync"/>): completes when nothing of self-healing runs any more.</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private void OnRuntimeEvent(WorkloadEvent change)
    {
        if (change.Kind == WorkloadEventKind.Reconnected)
        {
            WakeAll();
            return;
        }

        if (_registry.TryGet(change.DeploymentId, out var entry))
        {
            entry.Healer?.Wake();
        }
    }

    /// <summary>
    /// A circuit breaker closed: when it is the runtime's, the engine answers again, so every healer looks now. A pass
    /// the open circuit refused is otherwise retried only on the next runtime event or resync, which leaves a lost
    /// instance unreplaced for up to <see cref="OrchestrationOptions.HealingResyncInterval"/> after the engine recovered.
    /// Runs on the call that closed the circuit: it only wakes healers (their passes run on the thread pool).
    /// </summary>
    /// <param name="target">The breaker's target, for example <c>runtime:docker</c>.</param>
    public void OnCircuitClosed(string target)
    {
        if (_running && Runtime is not null && string.Equals(target, "runtime:" + Runtime.Name, StringComparison.Ordinal))
        {
            WakeAll();
        }
    }

    private void WakeAll()
    {
        foreach (var entry in _registry.Entries)
        {
            if (ShouldAct(entry))
            {
                entry.Healer?.Wake();
            }
        }
    }
}
