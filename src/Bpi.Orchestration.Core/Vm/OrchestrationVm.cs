using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Health;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Bpi.Orchestration;

/// <summary>The orchestrator behind <see cref="IOrchestrationVm"/>. See the interface for the contract of each operation.</summary>
internal sealed partial class OrchestrationVm : IOrchestrationVm, IDisposable
{
    internal const string RuntimePipelineName = "bpi-orchestration-runtime";

    private readonly ConcurrentDictionary<string, DeploymentEntry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IRolloutStrategy> _strategies;
    private readonly IReadOnlyList<IHealthProbe> _probes;
    private readonly ISecurityGate? _securityGate;
    private readonly IOrchestrationAuthorizer _authorizer;
    private readonly IAuditSink _audit;
    private readonly ResourceLedger _ledger;
    private readonly RolloutExecutor _executor;
    private readonly OrchestrationTelemetry _telemetry;
    private readonly RuntimeRetry _runtimePipeline;
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly RolloutQueue _queue;

    /// <summary>Destroyed deployments, oldest first, so the oldest beyond <see cref="OrchestrationOptions.DestroyedDeploymentsRetained"/> are forgotten.</summary>
    private readonly ConcurrentQueue<string> _destroyed = new();
    private int _destroyedCount;
    private volatile VmStatus _status = VmStatus.Created;
    private string? _lastDeploymentId;
    private DateTimeOffset? _lastDeploymentAt;

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
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            Options = options.Value;
        }
        catch (OptionsValidationException ex)
        {
            throw OrchestrationException.InvalidConfiguration("Orchestration options", [.. ex.Failures]);
        }

        Store = store;
        _audit = audit;
        _authorizer = authorizer;
        _strategies = new Dictionary<string, IRolloutStrategy>(StringComparer.Ordinal);
        foreach (var strategy in strategies)
        {
            _strategies[strategy.Name] = strategy;
        }

        _probes = [.. probes];
        Time = time ?? TimeProvider.System;
        Runtime = runtime;
        Router = router;
        _securityGate = securityGate;
        Logger = (ILogger?)loggerFactory?.CreateLogger("Bpi.Orchestration") ?? NullLogger.Instance;
        Events = new EventHub(Time);
        _ledger = new ResourceLedger(Options.Capacity);
        _telemetry = new OrchestrationTelemetry(meterFactory, () => _ledger.Utilization, AverageSecurityScore, AllDora);
        _executor = new RolloutExecutor(handlers, Time, _telemetry);
        _runtimePipeline = new RuntimeRetry(BuildRuntimePipeline());
        _queue = new RolloutQueue(Options.MaxConcurrentDeployments, ExecuteWorkAsync, _telemetry);
    }

    public string VmId => Options.VmId;

    internal OrchestrationOptions Options { get; }

    internal IDeploymentStore Store { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal EventHub Events { get; }

    internal IWorkloadRuntime? Runtime { get; }

    internal ITrafficRouter? Router { get; }

    internal ResourceLedger Ledger => _ledger;

    internal RolloutQueue QueueForTests => _queue;

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_status == VmStatus.Running)
        {
            return;
        }

        await _startLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            switch (_status)
            {
                case VmStatus.Running:
                    return;
                case VmStatus.Stopping or VmStatus.Stopped:
                    throw new OrchestrationException(OrchestrationErrorKind.NotRunning, "The orchestrator has been stopped and cannot be started again; create a new one (a new service provider).");
            }

            var runtime = RequireRuntime();
            var records = await Store.ListAsync(cancellationToken).ConfigureAwait(false);
            var toResume = new List<DeploymentEntry>();
            foreach (var record in records.Where(r => r.State == DeploymentState.Destroyed).OrderBy(r => r.CompletedAt ?? r.UpdatedAt))
            {
                _destroyed.Enqueue(record.Id);
                Interlocked.Increment(ref _destroyedCount);
            }

            foreach (var record in records)
            {
                var entry = new DeploymentEntry(this, record);
                _entries[record.Id] = entry;
                entry.StepContext = CreateStepContext(entry);
                if (record.State.IsLive())
                {
                    _liveNames[LiveNameKey(record.CurrentSpec)] = record.Id;
                    _telemetry.DeploymentsActive.Add(1);
                    TryRestoreReservation(record);
                    if (!record.State.IsSettled())
                    {
                        toResume.Add(entry);
                    }
                }
            }

            await ForgetOldDestroyedAsync().ConfigureAwait(false);
            if (Options.RemoveOrphansOnStart)
            {
                await RemoveOrphansAsync(runtime, cancellationToken).ConfigureAwait(false);
            }

            await _queue.StartAsync().ConfigureAwait(false);
            _status = VmStatus.Running;
            Log.Started(Logger, VmId, runtime.Name, records.Count);

            foreach (var entry in toResume.OrderBy(e => e.Record.CreatedAt))
            {
                await ResumeInterruptedAsync(entry).ConfigureAwait(false);
            }
        }
        finally
        {
            _startLock.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _startLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_status is VmStatus.Stopped or VmStatus.Stopping)
            {
                return;
            }

            var wasRunning = _status == VmStatus.Running;
            _status = VmStatus.Stopping;
            await _stopping.CancelAsync().ConfigureAwait(false);
            foreach (var entry in _entries.Values)
            {
                // Rollouts run on their control's token, not one linked to _stopping: stop each where it stands.
                entry.Work?.Control.Stop();
            }

            if (wasRunning)
            {
                await _queue.StopAsync(cancellationToken).ConfigureAwait(false);
            }

            _status = VmStatus.Stopped;
            Events.Complete();
            Log.Stopped(Logger, VmId);
        }
        finally
        {
            _startLock.Release();
        }
    }

    /// <summary>Stops and disposes synchronously, so a container disposed with <c>Dispose()</c> works too.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _telemetry.Dispose();
        foreach (var entry in _entries.Values)
        {
            entry.Dispose();
        }
    }

    public IAsyncEnumerable<DeploymentEvent> WatchAsync(string? deploymentId = null, CancellationToken cancellationToken = default)
        => Events.Subscribe(deploymentId, cancellationToken);

    public async Task<DeploymentStatus> GetStatusAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var entry = await GetEntryAsync(deploymentId, OrchestrationVerbs.Read, cancellationToken).ConfigureAwait(false);
        return await BuildStatusAsync(entry, includeInstances: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DeploymentStatus> WaitForStateAsync(string deploymentId, Func<DeploymentState, bool> predicate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var entry = await GetEntryAsync(deploymentId, OrchestrationVerbs.Read, cancellationToken).ConfigureAwait(false);
        if (!predicate(entry.Record.State))
        {
            var reached = entry.WaitForStateAsync(predicate, cancellationToken);
            if (!reached.IsCompleted && entry.Work is { } work)
            {
                // The caller's thread would idle until the rollout moves: let it start a queued rollout that is next in line.
                _queue.TryRunInline(work);
            }

            await reached.ConfigureAwait(false);
        }
        return await BuildStatusAsync(entry, includeInstances: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RolloutReport>> GetRolloutHistoryAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var entry = await GetEntryAsync(deploymentId, OrchestrationVerbs.Read, cancellationToken).ConfigureAwait(false);
        return entry.Record.History;
    }

    public async Task<DoraReport> GetDoraAsync(string appId, string environment, TimeSpan? window = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appId);
        ArgumentException.ThrowIfNullOrWhiteSpace(environment);
        if (window is { } w && w <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(window), w, "The window must be greater than zero.");
        }

        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        await AuthorizeAsync(OrchestrationVerbs.Read, environment, appId, null, null, cancellationToken).ConfigureAwait(false);
        var rollouts = _entries.Values.SelectMany(e => e.Record.History).Where(r => r.AppId == appId && r.Environment == environment);
        return DoraReport.Compute(appId, environment, window ?? Options.DoraWindow, rollouts, Time.GetUtcNow());
    }

    /// <summary>The DORA figures of every application and environment with history, for the published gauges.</summary>
    internal IEnumerable<DoraReport> AllDora()
    {
        var now = Time.GetUtcNow();
        return _entries.Values
            .SelectMany(e => e.Record.History)
            .GroupBy(r => (r.AppId, r.Environment))
            .Select(g => DoraReport.Compute(g.Key.AppId, g.Key.Environment, Options.DoraWindow, g, now))
            .Where(d => d.Rollouts > 0)
            .ToList();
    }

    /// <summary>Remembers a destroyed deployment and forgets the oldest ones beyond the retention.</summary>
    internal ValueTask OnDestroyedAsync(string deploymentId)
    {
        _destroyed.Enqueue(deploymentId);
        return Interlocked.Increment(ref _destroyedCount) > Options.DestroyedDeploymentsRetained ? ForgetOldDestroyedAsync() : ValueTask.CompletedTask;
    }

    private async ValueTask ForgetOldDestroyedAsync()
    {
        while (Volatile.Read(ref _destroyedCount) > Options.DestroyedDeploymentsRetained && _destroyed.TryDequeue(out var id))
        {
            Interlocked.Decrement(ref _destroyedCount);
            // Destroy is final and ids are never reused, so the entry under this id is the destroyed one.
            _entries.TryRemove(id, out _);

            try
            {
                await Store.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.ForgetFailed(Logger, ex, id);
            }
        }
    }

    internal void RecordRolloutReport(RolloutReport report) => _telemetry.RecordRolloutReport(report);

    public async Task<DeploymentList> ListAsync(DeploymentQuery? query = null, CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        await AuthorizeAsync(OrchestrationVerbs.Read, null, null, null, null, cancellationToken).ConfigureAwait(false);
        query ??= new DeploymentQuery();
        var totals = new Dictionary<DeploymentState, int>();
        var matching = new List<DeploymentStatus>();
        foreach (var entry in _entries.Values)
        {
            var record = entry.Record;
            totals[record.State] = totals.GetValueOrDefault(record.State) + 1;
            var spec = record.CurrentSpec;
            if ((query.States.Count == 0 ? record.State.IsLive() : query.States.Contains(record.State))
                && (query.AppId is null || string.Equals(spec.AppId, query.AppId, StringComparison.Ordinal))
                && (query.Environment is null || string.Equals(spec.Environment, query.Environment, StringComparison.Ordinal)))
            {
                matching.Add(await BuildStatusAsync(entry, includeInstances: false, cancellationToken).ConfigureAwait(false));
            }
        }

        matching.Sort((a, b) => b.CreatedAt.CompareTo(a.CreatedAt));
        return new DeploymentList(matching, totals, _ledger.Utilization);
    }

    public async Task<VmState> GetStateAsync(CancellationToken cancellationToken = default)
    {
        await AuthorizeAsync(OrchestrationVerbs.Read, null, null, null, null, cancellationToken).ConfigureAwait(false);
        var instances = 0;
        if (Runtime is not null && _status == VmStatus.Running)
        {
            var owned = await Runtime.ListOwnedAsync(cancellationToken).ConfigureAwait(false);
            instances = owned.Count(i => i.OwnerId is null || string.Equals(i.OwnerId, VmId, StringComparison.Ordinal));
        }

        var active = 0;
        var inProgress = 0;
        foreach (var entry in _entries.Values)
        {
            var state = entry.Record.State;
            if (state.IsLive())
            {
                active++;
            }

            if (!state.IsSettled())
            {
                inProgress++;
            }
        }

        return new VmState(VmId, _status, active, inProgress, instances, _ledger.Utilization, AverageSecurityScore(), _lastDeploymentId, _lastDeploymentAt);
    }

    internal void PublishStateChanged(DeploymentState previous, DeploymentRecord record, string? message)
    {
        Log.StateChanged(Logger, record.Id, previous, record.State);
        if (Events.HasWatchers)
        {
            Events.Publish(record.Id, DeploymentEventKind.StateChanged, record.State, message ?? $"{previous} -> {record.State}", new EventDetails(PreviousState: previous));
        }
    }

    internal ValueTask AuditStateChangedAsync(DeploymentState previous, DeploymentRecord record, string? message)
        => AuditAsync(record.UpdatedAt, OrchestrationActor.System.Id, "deployment.state", record.Id, StateNames.Lower(record.State), new StateChangeAudit(previous, record.State, message));

    internal ValueTask AuditAsync(string actor, string action, string target, string outcome, IReadOnlyDictionary<string, string?>? data = null)
        => AuditAsync(Time.GetUtcNow(), actor, action, target, outcome, data);

    /// <summary>Appends an audit event stamped <paramref name="at"/> (the time of the change it records, already read).</summary>
    internal ValueTask AuditAsync(DateTimeOffset at, string actor, string action, string target, string outcome, IReadOnlyDictionary<string, string?>? data = null)
    {
        ValueTask append;
        try
        {
            append = _audit.AppendAsync(new AuditEvent(at, actor, action, target, outcome, data), CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The rollout must not fail because the audit sink did; the failure is logged loudly instead.
            Log.AuditFailed(Logger, ex, action, target);
            return ValueTask.CompletedTask;
        }

        // A sink that appends at once (the in-memory one) costs no state machine.
        return append.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitAuditAsync(append, action, target);
    }

    private async ValueTask AwaitAuditAsync(ValueTask append, string action, string target)
    {
        try
        {
            await append.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.AuditFailed(Logger, ex, action, target);
        }
    }

    private ResiliencePipeline BuildRuntimePipeline()
    {
        var builder = new ResiliencePipelineBuilder { Name = RuntimePipelineName, TimeProvider = Time };
        if (Options.RuntimeRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                Name = "transient-runtime-fault",
                MaxRetryAttempts = Options.RuntimeRetryAttempts,
                Delay = Options.RuntimeRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<OrchestrationException>(IsTransientRuntimeFault),
                OnRetry = args =>
                {
                    Log.RuntimeRetry(Logger, args.Outcome.Exception, args.AttemptNumber + 1);
                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder.Build();
    }

    private static bool IsTransientRuntimeFault(OrchestrationException exception) => exception.IsTransient;

    private IWorkloadRuntime RequireRuntime()
        => Runtime ?? throw new OrchestrationException(
            OrchestrationErrorKind.InvalidConfiguration,
            "No workload runtime is registered. Add one to the orchestration builder: .AddInMemoryRuntime() (Bpi.Orchestration.Testing), .AddProcessRuntime() or .AddDocker() (Bpi.Orchestration.Components).");

    private RolloutStepContext CreateStepContext(DeploymentEntry entry)
        => new(entry, VmId, RequireRuntime(), Router, _probes, Time, Logger, _runtimePipeline);

    // The helpers below answer synchronously on the common path (started, default authorizer): no state machines.
    private ValueTask EnsureStartedAsync(CancellationToken cancellationToken)
    {
        var status = _status;
        if (status == VmStatus.Running)
        {
            return ValueTask.CompletedTask;
        }

        if (status is VmStatus.Stopping or VmStatus.Stopped)
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotRunning, "The orchestrator has been stopped; create a new one to accept work.");
        }

        return new ValueTask(StartAsync(cancellationToken));
    }

    private ValueTask<DeploymentEntry> GetEntryAsync(string deploymentId, string verb, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        DeploymentIds.ThrowIfInvalid(deploymentId);
        var started = EnsureStartedAsync(cancellationToken);
        if (!started.IsCompletedSuccessfully)
        {
            return GetEntrySlowAsync(started, deploymentId, verb, cancellationToken);
        }

        var entry = FindEntry(deploymentId);
        var spec = entry.Record.CurrentSpec;
        var authorized = AuthorizeAsync(verb, spec.Environment, spec.AppId, deploymentId, null, cancellationToken);
        return authorized.IsCompletedSuccessfully ? new ValueTask<DeploymentEntry>(entry) : AwaitAuthorizedAsync(authorized, entry);

        static async ValueTask<DeploymentEntry> AwaitAuthorizedAsync(ValueTask<AuthorizationDecision> authorized, DeploymentEntry entry)
        {
            await authorized.ConfigureAwait(false);
            return entry;
        }
    }

    private async ValueTask<DeploymentEntry> GetEntrySlowAsync(ValueTask started, string deploymentId, string verb, CancellationToken cancellationToken)
    {
        await started.ConfigureAwait(false);
        var entry = FindEntry(deploymentId);
        var spec = entry.Record.CurrentSpec;
        await AuthorizeAsync(verb, spec.Environment, spec.AppId, deploymentId, null, cancellationToken).ConfigureAwait(false);
        return entry;
    }

    private DeploymentEntry FindEntry(string deploymentId)
        => _entries.TryGetValue(deploymentId, out var entry)
            ? entry
            : throw new OrchestrationException(OrchestrationErrorKind.NotFound, NotFoundMessage(deploymentId));

    private string NotFoundMessage(string deploymentId)
        => $"No deployment has the id '{deploymentId}'; list deployments with ListAsync to find its id (only the newest {Options.DestroyedDeploymentsRetained.ToString(CultureInfo.InvariantCulture)} destroyed deployments are remembered; the audit trail keeps the others).";

    private ValueTask<AuthorizationDecision> AuthorizeAsync(string verb, string? environment, string? appId, string? deploymentId, DeploymentSpec? spec, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? attributes = null)
        => _authorizer is Microsoft.Extensions.DependencyInjection.AllowAllAuthorizer
            ? new ValueTask<AuthorizationDecision>(AuthorizationDecision.AllowAll) // the default allows everything: no request to build
            : AuthorizeCoreAsync(verb, environment, appId, deploymentId, spec, attributes, cancellationToken);

    private async ValueTask<AuthorizationDecision> AuthorizeCoreAsync(string verb, string? environment, string? appId, string? deploymentId, DeploymentSpec? spec, IReadOnlyDictionary<string, string>? attributes, CancellationToken cancellationToken)
    {
        var actor = OrchestrationActor.Current;
        var request = attributes is null
            ? new AuthorizationRequest(actor, verb, environment, appId, deploymentId, spec)
            : new AuthorizationRequest(actor, verb, environment, appId, deploymentId, spec) { Attributes = attributes };
        var decision = await _authorizer.AuthorizeAsync(request, cancellationToken).ConfigureAwait(false);
        if (!decision.Allowed)
        {
            var target = deploymentId ?? spec?.Name ?? "(orchestrator)";
            Log.Denied(Logger, verb, target, actor.Id, decision.Rule);
            await AuditAsync(actor.Id, "authorization." + verb, target, "denied", new AuditData([new("rule", decision.Rule), new("reason", decision.Reason)])).ConfigureAwait(false);
            throw new OrchestrationException(OrchestrationErrorKind.Unauthorized, $"'{actor.Id}' may not {verb} {target}: {decision.Reason} (rule {decision.Rule}).");
        }

        return decision;
    }

    private async ValueTask<DeploymentStatus> BuildStatusAsync(DeploymentEntry entry, bool includeInstances, CancellationToken cancellationToken)
    {
        var record = entry.Record;
        var spec = record.CurrentSpec;
        IReadOnlyList<WorkloadInstance> instances = [];
        if (includeInstances && Runtime is not null && record.State.IsLive())
        {
            instances = await _runtimePipeline.ExecuteAsync(
                static (s, ct) => s.Runtime.GetInstancesAsync(s.Id, cancellationToken: ct),
                (Runtime, record.Id),
                cancellationToken).ConfigureAwait(false);
        }

        var components = new List<ComponentStatus>(spec.Components.Count);
        for (var position = 0; position < spec.Components.Count; position++)
        {
            var component = spec.Components[position];
            var t = entry.GetTraffic(component.Id);
            components.Add(new ComponentStatus(component.Id, component.Replicas, CountByRevision(instances, component.Id), t.Weights ?? NoWeights, t.Approximated));
        }

        var settled = record.State.IsSettled();
        return new DeploymentStatus
        {
            Id = record.Id,
            Name = spec.Name,
            AppId = spec.AppId,
            Environment = spec.Environment,
            Type = spec.Type,
            State = record.State,
            Strategy = spec.Strategy.Name,
            CreatedAt = record.CreatedAt,
            CompletedAt = record.CompletedAt,
            Progress = settled ? (record.State is DeploymentState.Running or DeploymentState.RolledBack ? 100 : 0) : entry.Progress,
            CurrentStep = settled ? null : entry.CurrentStep,
            StableRevision = record.StableRevision,
            TargetRevision = record.TargetRevision,
            Allocation = record.Allocation,
            SecurityScore = record.SecurityScore,
            Message = record.Message,
            Components = components,
        };
    }

    private static readonly IReadOnlyDictionary<int, int> NoWeights = System.Collections.ObjectModel.ReadOnlyDictionary<int, int>.Empty;

    /// <summary>A component's instances counted per revision, ascending: a handful of revisions, counted without LINQ.</summary>
    private static List<RevisionInstances> CountByRevision(IReadOnlyList<WorkloadInstance> instances, string componentId)
    {
        Span<(int Revision, int Total, int Running)> counts = stackalloc (int, int, int)[4];
        var n = 0;
        List<(int Revision, int Total, int Running)>? more = null;
        for (var index = 0; index < instances.Count; index++)
        {
            var instance = instances[index];
            if (!string.Equals(instance.ComponentId, componentId, StringComparison.Ordinal))
            {
                continue;
            }

            var running = instance.State == InstanceState.Running && instance.Health != InstanceHealth.Unhealthy ? 1 : 0;
            var at = 0;
            while (at < n && counts[at].Revision != instance.Revision)
            {
                at++;
            }

            if (at < n)
            {
                counts[at] = (counts[at].Revision, counts[at].Total + 1, counts[at].Running + running);
            }
            else if (n < counts.Length)
            {
                counts[n++] = (instance.Revision, 1, running);
            }
            else
            {
                // More than four revisions of one component at once: rare enough for the general path.
                more ??= [];
                var i = 0;
                while (i < more.Count && more[i].Revision != instance.Revision)
                {
                    i++;
                }

                if (i == more.Count)
                {
                    more.Add((instance.Revision, 1, running));
                }
                else
                {
                    more[i] = (more[i].Revision, more[i].Total + 1, more[i].Running + running);
                }
            }
        }

        var result = new List<RevisionInstances>(n + (more?.Count ?? 0));
        foreach (var c in counts[..n])
        {
            result.Add(new RevisionInstances(c.Revision, c.Total, c.Running));
        }

        if (more is not null)
        {
            result.AddRange(more.Select(c => new RevisionInstances(c.Revision, c.Total, c.Running)));
        }

        if (result.Count > 1)
        {
            result.Sort(static (a, b) => a.Revision.CompareTo(b.Revision));
        }

        return result;
    }

    private double? AverageSecurityScore()
    {
        double sum = 0;
        var count = 0;
        foreach (var entry in _entries.Values)
        {
            var record = entry.Record;
            if (record.State.IsLive() && record.SecurityScore is { } score)
            {
                sum += score;
                count++;
            }
        }

        return count == 0 ? null : sum / count;
    }

    private void TryRestoreReservation(DeploymentRecord record)
    {
        try
        {
            _ledger.Reserve(record.Id, record.Allocation);
        }
        catch (OrchestrationException)
        {
            // The capacity shrank since the record was stored; keep serving what already runs and say so in the record.
            _ledger.Reserve(record.Id, ResourceRequirements.None);
        }
    }

    private async Task RemoveOrphansAsync(IWorkloadRuntime runtime, CancellationToken cancellationToken)
    {
        var owned = await runtime.ListOwnedAsync(cancellationToken).ConfigureAwait(false);
        var groups = owned
            .Where(i => i.OwnerId is null || string.Equals(i.OwnerId, VmId, StringComparison.Ordinal))
            .Where(i => !_entries.TryGetValue(i.DeploymentId, out var e) || !e.Record.State.IsLive())
            .GroupBy(i => i.DeploymentId, StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var count = group.Count().ToString(CultureInfo.InvariantCulture);
            if (!_entries.ContainsKey(group.Key))
            {
                // No record says this deployment was destroyed: its record may be missing or unreadable. Never stop
                // instances on a guess; say what was found and leave them.
                Log.UnknownDeploymentInstancesLeft(Logger, group.Count(), group.Key);
                await AuditAsync(OrchestrationActor.System.Id, "runtime.orphans.unknown", group.Key, "left", new AuditData([new("instances", count)])).ConfigureAwait(false);
                continue;
            }

            Log.RemovingOrphans(Logger, group.Count(), group.Key);
            try
            {
                await runtime.RemoveDeploymentAsync(group.Key, cancellationToken).ConfigureAwait(false);
                await AuditAsync(OrchestrationActor.System.Id, "runtime.orphans.removed", group.Key, "succeeded", new AuditData([new("instances", count)])).ConfigureAwait(false);
            }
            catch (OrchestrationException ex)
            {
                Log.OrphanRemovalFailed(Logger, ex, group.Key);
            }
        }
    }
}
