using System.Diagnostics.Metrics;
using Bpi.Orchestration.Admission;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Health;
using Bpi.Orchestration.Ownership;
using Bpi.Orchestration.Queries;
using Bpi.Orchestration.Recording;
using Bpi.Orchestration.Resilience;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration;

/// <summary>
/// The orchestrator behind <see cref="IOrchestrationVm"/>: a thin facade that composes the parts and forwards each
/// operation to the one that owns it — <see cref="DeploymentAdmission"/> (deploy, update, rollback, scale),
/// <see cref="RolloutInterventions"/> (pause, resume, abort, promote, approve, reject, destroy),
/// <see cref="DeploymentQueries"/> (status, list, history, DORA, plans), <see cref="RolloutRunner"/> (queue → plan →
/// executor) and <see cref="DeploymentRecorder"/> (save, publish, audit). See the interface for each operation's contract.
/// </summary>
internal sealed partial class OrchestrationVm : IOrchestrationVm, IDisposable
{
    internal const string RuntimePipelineName = "bpi-orchestration-runtime";

    private readonly IReadOnlyList<IHealthProbe> _probes;
    private readonly OrchestrationTelemetry _telemetry;
    private readonly DeploymentRecorder _recorder;
    private readonly DeploymentRegistry _registry;
    private readonly RolloutRunner _runner;
    private readonly DeploymentAdmission _admission;
    private readonly RolloutInterventions _interventions;
    private readonly DeploymentQueries _queries;
    private readonly OperationGate _gate;
    private readonly Healing.HealingLoop _healing;
    private readonly Autoscaling.AutoscalingLoop _autoscaling;

    public OrchestrationVm(
        IOptions<OrchestrationOptions> options,
        IDeploymentStore store,
        IAuditSink audit,
        IOrchestrationAuthorizer authorizer,
        IEnumerable<IRolloutStrategy> strategies,
        IEnumerable<IRolloutStepHandler> handlers,
        IEnumerable<IHealthProbe> probes,
        TimeProvider? time = null,
        IWorkloadRuntime? runtime = null,
        ITrafficRouter? router = null,
        ISecurityGate? securityGate = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null,
        IDeploymentOwnership? ownership = null,
        CircuitBreakers? circuitBreakers = null,
        IEnumerable<IComponentManager>? componentManagers = null,
        Hardening.DockLockDefaults? dockLockDefaults = null,
        IEnumerable<Autoscaling.IAutoscalingMetricSource>? metricSources = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Bad options surface as the OptionsValidationException that lists them, here as at host start.
        Options = options.Value;

        var byName = new Dictionary<string, IRolloutStrategy>(StringComparer.Ordinal);
        foreach (var strategy in strategies)
        {
            byName[strategy.Name] = strategy;
        }

        _probes = [.. probes];
        Time = time ?? TimeProvider.System;
        Logger = (ILogger?)loggerFactory?.CreateLogger("Bpi.Orchestration") ?? NullLogger.Instance;
        Ledger = new ResourceLedger(Options.Capacity);
        CircuitBreakers = circuitBreakers ?? new CircuitBreakers(Options.CircuitBreaking, Time, Logger);
        // Core serves the default type itself; a manager a package registers for it comes later and wins.
        IComponentManager[] managers = [new DockLockComponentManager(runtime?.Name, dockLockDefaults), .. componentManagers ?? []];
        runtime = GuardedWorkloadRuntime.Guard(runtime, CircuitBreakers);
        router = GuardedTrafficRouter.Guard(router, CircuitBreakers);
        // The gauges are observed by any listener, from any thread, as soon as the meter exists: until the queries are
        // built (and if construction fails) they report nothing rather than throw into someone else's listener.
        _telemetry = new OrchestrationTelemetry(meterFactory, () => Ledger.Utilization, () => _queries?.AverageSecurityScore(), () => _queries?.AllDora() ?? []);
        _recorder = new DeploymentRecorder(store, audit, new EventHub(Time), Time, Logger, _telemetry, Options.RolloutHistoryLimit, ownership ?? SingleInstanceOwnership.Instance);
        _registry = new DeploymentRegistry(store, Logger, Options.DestroyedDeploymentsRetained);
        RolloutExecutor executor;
        try
        {
            executor = new RolloutExecutor(handlers, Time, _telemetry);
        }
        catch
        {
            // A refused registration (two handlers for one step type) leaves no meter behind.
            _telemetry.Dispose();
            throw;
        }

        _runner = new RolloutRunner(byName, executor, Ledger, _recorder, _registry, Options, runtime, router, new RuntimeRetry(BuildRuntimePipeline()));
        _healing = new Healing.HealingLoop(_registry, _recorder, executor, runtime, _runner.RuntimePipeline, _probes, Options);
        _telemetry.CrashLooping = () => _registry.Entries.Sum(e => e.Healer?.GetStatus().Components.Count(c => c.State == HealingState.CrashLoopBackOff) ?? 0);
        var gate = _gate = new OperationGate(authorizer, _registry, _recorder, EnsureStartedAsync);
        IReadOnlyList<Autoscaling.IAutoscalingMetricSource> sources = [.. metricSources ?? []];
        var checks = new SpecChecks(byName, securityGate, _recorder, managers, sources, Autoscaling.AutoscalingChecks.RuntimeWithoutUtilization(runtime, Options));
        _admission = new DeploymentAdmission(gate, checks, _registry, Ledger, _recorder, _runner, NewEntry);
        _autoscaling = new Autoscaling.AutoscalingLoop(_registry, _recorder, _admission, runtime, Options, sources);
        _interventions = new RolloutInterventions(gate, _registry, _recorder, _runner);
        _queries = new DeploymentQueries(gate, _registry, checks, Ledger, _runner, Time, Options, CircuitBreakers);
        _telemetry.CircuitBreakers = CircuitBreakers.GetStatus;
        CircuitBreakers.StateChanged += OnCircuitBreakerChanged;
    }

    public string VmId => Options.VmId;

    internal OrchestrationOptions Options { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal ResourceLedger Ledger { get; }

    /// <summary>The circuit breakers the runtime and router calls go through.</summary>
    internal CircuitBreakers CircuitBreakers { get; }

    internal RolloutQueue QueueForTests => _runner.Queue;

    internal DeploymentQueries QueriesForTests => _queries;

    public Task<string> DeployAsync(DeploymentSpec spec, CancellationToken cancellationToken = default)
        => _admission.DeployAsync(spec, cancellationToken);

    public Task AuthorizeAsync(IEnumerable<string> verbs, DeploymentSpec spec, CancellationToken cancellationToken = default)
        => _gate.AuthorizeAheadAsync(verbs, spec, cancellationToken);

    public Task AuthorizeAsync(IEnumerable<string> verbs, string deploymentId, CancellationToken cancellationToken = default)
        => _gate.AuthorizeAheadAsync(verbs, deploymentId, cancellationToken);

    public Task<int> UpdateAsync(string deploymentId, DeploymentSpec spec, CancellationToken cancellationToken = default)
        => _admission.UpdateAsync(deploymentId, spec, cancellationToken);

    public Task<int> RollbackAsync(string deploymentId, int? toRevision = null, CancellationToken cancellationToken = default)
        => _admission.RollbackAsync(deploymentId, toRevision, cancellationToken);

    public Task ScaleAsync(string deploymentId, int replicas, string? componentId = null, CancellationToken cancellationToken = default)
        => OwnedElsewhere(deploymentId)
            ? SendToOwnerAsync(deploymentId, DeploymentCommandVerbs.Scale, cancellationToken, ("replicas", replicas.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("component", componentId))
            : _admission.ScaleAsync(deploymentId, replicas, componentId, cancellationToken);

    public Task DestroyAsync(string deploymentId, bool force = false, CancellationToken cancellationToken = default)
        => OwnedElsewhere(deploymentId)
            ? SendToOwnerAsync(deploymentId, DeploymentCommandVerbs.Destroy, cancellationToken, ("force", force ? "true" : "false"))
            : _interventions.DestroyAsync(deploymentId, force, cancellationToken);

    public Task PauseAsync(string deploymentId, CancellationToken cancellationToken = default)
        => OwnedElsewhere(deploymentId) ? SendToOwnerAsync(deploymentId, DeploymentCommandVerbs.Pause, cancellationToken) : _interventions.PauseAsync(deploymentId, cancellationToken);

    public Task ResumeAsync(string deploymentId, CancellationToken cancellationToken = default)
        => OwnedElsewhere(deploymentId) ? SendToOwnerAsync(deploymentId, DeploymentCommandVerbs.Resume, cancellationToken) : _interventions.ResumeAsync(deploymentId, cancellationToken);

    public Task AbortAsync(string deploymentId, CancellationToken cancellationToken = default)
        => OwnedElsewhere(deploymentId) ? SendToOwnerAsync(deploymentId, DeploymentCommandVerbs.Abort, cancellationToken) : _interventions.AbortAsync(deploymentId, cancellationToken);

    public Task PromoteAsync(string deploymentId, CancellationToken cancellationToken = default)
        => OwnedElsewhere(deploymentId) ? SendToOwnerAsync(deploymentId, DeploymentCommandVerbs.Promote, cancellationToken) : _interventions.PromoteAsync(deploymentId, cancellationToken);

    public Task ApproveAsync(string deploymentId, string gate, string? comment = null, CancellationToken cancellationToken = default)
        => OwnedElsewhere(deploymentId)
            ? SendToOwnerAsync(deploymentId, DeploymentCommandVerbs.Approve, cancellationToken, ("gate", gate), ("comment", comment))
            : _interventions.DecideAsync(deploymentId, gate, approve: true, comment, cancellationToken);

    public Task RejectAsync(string deploymentId, string gate, string? comment = null, CancellationToken cancellationToken = default)
        => OwnedElsewhere(deploymentId)
            ? SendToOwnerAsync(deploymentId, DeploymentCommandVerbs.Reject, cancellationToken, ("gate", gate), ("comment", comment))
            : _interventions.DecideAsync(deploymentId, gate, approve: false, comment, cancellationToken);

    public Task<RolloutPlan> PlanAsync(DeploymentSpec spec, string? deploymentId = null, CancellationToken cancellationToken = default)
        => _queries.PlanAsync(spec, deploymentId, cancellationToken);

    public Task<DeploymentStatus> GetStatusAsync(string deploymentId, CancellationToken cancellationToken = default)
        => _queries.GetStatusAsync(deploymentId, cancellationToken);

    public Task<DeploymentStatus> WaitForStateAsync(string deploymentId, Func<DeploymentState, bool> predicate, CancellationToken cancellationToken = default)
        => _queries.WaitForStateAsync(deploymentId, predicate, cancellationToken);

    public Task<IReadOnlyList<RolloutReport>> GetRolloutHistoryAsync(string deploymentId, CancellationToken cancellationToken = default)
        => _queries.GetRolloutHistoryAsync(deploymentId, cancellationToken);

    public Task<DoraReport> GetDoraAsync(string appId, string environment, TimeSpan? window = null, CancellationToken cancellationToken = default)
        => _queries.GetDoraAsync(appId, environment, window, cancellationToken);

    public Task<DeploymentList> ListAsync(DeploymentQuery? query = null, CancellationToken cancellationToken = default)
        => _queries.ListAsync(query, cancellationToken);

    public Task<VmState> GetStateAsync(CancellationToken cancellationToken = default)
        => _queries.GetStateAsync(_status, _admission.LastDeploymentId, _admission.LastDeploymentAt, cancellationToken);

    public IAsyncEnumerable<DeploymentEvent> WatchAsync(string? deploymentId = null, CancellationToken cancellationToken = default)
        => _recorder.Events.Subscribe(deploymentId, cancellationToken);

    /// <summary>Counts a breaker's state change and publishes it as an orchestrator-wide <see cref="DeploymentEventKind.CircuitBreakerChanged"/> event.</summary>
    private void OnCircuitBreakerChanged(CircuitBreakerStatus status)
    {
        _telemetry.RecordCircuitBreakerChange(status);
        var message = status.State switch
        {
            CircuitBreakerState.Open => $"The circuit breaker of {status.Target} opened: calls fail fast ({status.LastFailure ?? "no failure recorded"}).",
            CircuitBreakerState.HalfOpen => $"The circuit breaker of {status.Target} is half-open: a trial call decides whether it closes.",
            _ => $"The circuit breaker of {status.Target} closed: calls flow again.",
        };
        _recorder.Events.Publish("", DeploymentEventKind.CircuitBreakerChanged, DeploymentState.Running, message, new EventDetails(CircuitBreaker: status));
        if (status.State == CircuitBreakerState.Closed)
        {
            _healing.OnCircuitClosed(status.Target);
        }
    }

    /// <summary>Publishes an orchestrator-wide <see cref="DeploymentEventKind.AuditVerificationFailed"/> event (empty deployment id) and logs it.</summary>
    internal void ReportAuditVerificationFailed(string message)
    {
        Telemetry.Log.AuditVerificationFailed(Logger, message);
        _recorder.Events.Publish("", DeploymentEventKind.AuditVerificationFailed, DeploymentState.Running, message);
    }

    /// <summary>How many healers wait for a timed wake (an after-run look, a crash-loop back-off): for tests.</summary>
    internal int PendingHealingWakes => _healing.Wakes.Pending;

    /// <summary>A deployment's entry with the step context its plans run with.</summary>
    private DeploymentEntry NewEntry(DeploymentRecord record)
    {
        var entry = new DeploymentEntry(record, _recorder);
        entry.StepContext = new RolloutStepContext(entry.Steps, VmId, _runner.RequireRuntime(), _runner.Router, _probes, Time, Logger, _runner.RuntimePipeline);
        if (Options.SelfHealing)
        {
            entry.Healer = new Healing.DeploymentHealer(entry, _healing);
        }

        return entry;
    }
}
