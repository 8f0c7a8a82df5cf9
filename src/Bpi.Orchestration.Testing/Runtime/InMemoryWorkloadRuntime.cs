using System.Globalization;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Testing;

/// <summary>
/// An <see cref="IWorkloadRuntime"/> that keeps instances in memory: fast, deterministic, with fault injection
/// (<see cref="Faults"/>) and a clock of your choosing. For the SDK's own tests and for consumers' integration tests.
/// </summary>
public sealed partial class InMemoryWorkloadRuntime : IWorkloadRuntime, IWorkloadEvents, IWorkloadInstanceRemover, IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Instance> _instances = new(StringComparer.Ordinal);
    private readonly List<ITimer> _timers = [];
    private readonly InMemoryRuntimeOptions _options;
    private readonly TimeProvider _time;
    private readonly List<Action<WorkloadEvent>> _subscribers = [];
    private long _nextOrdinal;
    private long _calls;
    private int _peak;

    /// <summary>Creates a runtime.</summary>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock for start delays, crashes and latency; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public InMemoryWorkloadRuntime(IOptions<InMemoryRuntimeOptions>? options = null, TimeProvider? timeProvider = null)
    {
        _options = options?.Value ?? new InMemoryRuntimeOptions();
        _time = timeProvider ?? TimeProvider.System;
        Random = new Random(_options.Seed);
        Faults = new InMemoryFaults(this);
    }

    /// <inheritdoc />
    public string Name => "in-memory";

    /// <summary>Faults and behaviours to inject.</summary>
    public InMemoryFaults Faults { get; }

    /// <summary>How many runtime calls were made.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>The highest number of instances that existed at once.</summary>
    public int PeakInstances
    {
        get
        {
            lock (_gate)
            {
                return _peak;
            }
        }
    }

    internal Random Random { get; }

    /// <summary>Every instance that exists now, of every deployment.</summary>
    /// <returns>The instances.</returns>
    public IReadOnlyList<WorkloadInstance> Snapshot()
    {
        lock (_gate)
        {
            return [.. _instances.Values.Select(i => i.Current)];
        }
    }

    /// <inheritdoc />
    public async ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revision);
        ArgumentOutOfRangeException.ThrowIfNegative(replicas);
        await EnterCallAsync(cancellationToken).ConfigureAwait(false);
        var created = new List<Instance>();
        lock (_gate)
        {
            var existing = _instances.Values
                .Where(i => i.Matches(revision.DeploymentId, revision.Component.Id, revision.Revision))
                .ToList();
            if (existing.Count > replicas)
            {
                // Surplus: terminated and not-running ones first, then the newest.
                foreach (var surplus in existing
                    .OrderBy(i => i.Current.IsTerminated ? 0 : i.Current.State == InstanceState.Running ? 2 : 1)
                    .ThenByDescending(i => i.Ordinal)
                    .Take(existing.Count - replicas))
                {
                    _instances.Remove(surplus.Current.InstanceId);
                }
            }

            for (var n = existing.Count; n < replicas; n++)
            {
                var ordinal = ++_nextOrdinal;
                var rules = Faults.Matching(revision);
                var instance = new Instance(revision, ordinal, rules, _time.GetUtcNow(), _options.StartDelay > TimeSpan.Zero);
                _instances[instance.Current.InstanceId] = instance;
                created.Add(instance);
            }

            _peak = Math.Max(_peak, _instances.Count);
        }

        foreach (var instance in created)
        {
            ScheduleLifecycle(instance);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
    {
        await EnterCallAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            var result = new List<WorkloadInstance>();
            foreach (var instance in _instances.Values)
            {
                if (instance.Matches(deploymentId, componentId, revision))
                {
                    result.Add(instance.Current);
                }
            }

            return result;
        }
    }

    /// <inheritdoc />
    public async ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        await EnterCallAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var id in _instances.Values.Where(i => i.Matches(deploymentId, null, null)).Select(i => i.Current.InstanceId).ToList())
            {
                _instances.Remove(id);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask RemoveInstanceAsync(string deploymentId, string instanceId, CancellationToken cancellationToken = default)
    {
        await EnterCallAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            if (_instances.TryGetValue(instanceId, out var instance) && instance.Matches(deploymentId, null, null))
            {
                _instances.Remove(instanceId);
            }
        }
    }

    /// <inheritdoc />
    public IDisposable Subscribe(Action<WorkloadEvent> onEvent)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        lock (_gate)
        {
            _subscribers.Add(onEvent);
        }

        return new Subscription(this, onEvent);
    }

    /// <summary>Ends an instance now, as if its process was killed (exit code 137 by default), and reports it to subscribers.</summary>
    internal bool Kill(string instanceId, int exitCode, string message)
        => Change(instanceId, i => i.IsTerminated ? null : i with { State = InstanceState.Exited, ExitCode = exitCode, Message = message }, WorkloadEventKind.Exited);

    /// <summary>Sets the health the runtime reports for an instance, and reports the change to subscribers.</summary>
    internal bool SetHealth(string instanceId, InstanceHealth health)
        => Change(instanceId, i => i.IsTerminated ? null : i with { Health = health }, WorkloadEventKind.HealthChanged);

    /// <summary>Removes an instance behind the orchestrator's back, and reports it to subscribers.</summary>
    internal bool Remove(string instanceId)
    {
        WorkloadInstance? removed = null;
        lock (_gate)
        {
            if (_instances.Remove(instanceId, out var instance))
            {
                removed = instance.Current;
            }
        }

        if (removed is not null)
        {
            Notify(new WorkloadEvent(removed.DeploymentId, removed.InstanceId, WorkloadEventKind.Removed));
        }

        return removed is not null;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default)
    {
        await EnterCallAsync(cancellationToken).ConfigureAwait(false);
        return Snapshot();
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default)
    {
        await EnterCallAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            return _instances.TryGetValue(instanceId, out var instance) ? [.. instance.Logs.TakeLast(lines)] : [];
        }
    }

    /// <summary>Returns the simulated response behaviour of an instance (error rate and latency set through <see cref="InMemoryFaults.RespondWith"/>).</summary>
    /// <param name="instanceId">The instance.</param>
    /// <returns>The error rate and latency, or <see langword="null"/> when the instance does not exist.</returns>
    public (double ErrorRate, TimeSpan Latency)? GetBehavior(string instanceId)
    {
        lock (_gate)
        {
            return _instances.TryGetValue(instanceId, out var instance) ? (instance.ErrorRate, instance.Latency) : null;
        }
    }

    /// <summary>Stops the timers behind start delays and scheduled faults.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var timer in _timers)
            {
                timer.Dispose();
            }

            _timers.Clear();
        }
    }

    private async ValueTask EnterCallAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (_options.CallLatency > TimeSpan.Zero)
        {
            await Task.Delay(_options.CallLatency, _time, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (Faults.TakeCallFailure())
        {
            throw new OrchestrationException(OrchestrationErrorKind.RuntimeUnavailable, "The in-memory runtime simulated a transient engine failure.");
        }
    }

    private void ScheduleLifecycle(Instance instance)
    {
        if (_options.StartDelay > TimeSpan.Zero && !instance.Current.IsTerminated)
        {
            Schedule(_options.StartDelay, () => Transition(instance, i => i.Current.State == InstanceState.Starting ? i.Started(_time.GetUtcNow()) : null));
        }

        foreach (var rule in instance.Rules)
        {
            var at = _options.StartDelay + rule.After;
            switch (rule.Kind)
            {
                case InMemoryFaults.FaultKind.Crash:
                    Schedule(at, () => Transition(instance, i => i.Current.IsTerminated ? null : i.Current with
                    {
                        State = InstanceState.Exited,
                        ExitCode = rule.ExitCode,
                        Message = rule.Message,
                    }));
                    break;
                case InMemoryFaults.FaultKind.Unhealthy when rule.After > TimeSpan.Zero:
                    Schedule(at, () => Transition(instance, i => i.Current.IsTerminated ? null : i.Current with { Health = InstanceHealth.Unhealthy, Message = rule.Message }));
                    break;
            }
        }
    }

    private void Schedule(TimeSpan after, Action action)
    {
        if (after <= TimeSpan.Zero)
        {
            action();
            return;
        }

        lock (_gate)
        {
            _timers.Add(_time.CreateTimer(_ => action(), null, after, Timeout.InfiniteTimeSpan));
        }
    }

    private void Transition(Instance instance, Func<Instance, WorkloadInstance?> change)
    {
        WorkloadEvent? happened = null;
        lock (_gate)
        {
            if (!_instances.ContainsKey(instance.Current.InstanceId))
            {
                return;
            }

            if (change(instance) is { } next)
            {
                var before = instance.Current;
                instance.Current = next;
                happened = next.IsTerminated && !before.IsTerminated ? new WorkloadEvent(next.DeploymentId, next.InstanceId, WorkloadEventKind.Exited, next.ExitCode)
                    : next.Health != before.Health ? new WorkloadEvent(next.DeploymentId, next.InstanceId, WorkloadEventKind.HealthChanged)
                    : null;
            }
        }

        if (happened is not null)
        {
            Notify(happened);
        }
    }

    private bool Change(string instanceId, Func<WorkloadInstance, WorkloadInstance?> change, WorkloadEventKind kind)
    {
        WorkloadInstance? changed = null;
        lock (_gate)
        {
            if (_instances.TryGetValue(instanceId, out var instance) && change(instance.Current) is { } next)
            {
                instance.Current = next;
                changed = next;
            }
        }

        if (changed is not null)
        {
            Notify(new WorkloadEvent(changed.DeploymentId, changed.InstanceId, kind, changed.ExitCode));
        }

        return changed is not null;
    }

    private void Notify(WorkloadEvent change)
    {
        Action<WorkloadEvent>[] subscribers;
        lock (_gate)
        {
            subscribers = [.. _subscribers];
        }

        foreach (var subscriber in subscribers)
        {
            subscriber(change);
        }
    }

    private sealed class Subscription(InMemoryWorkloadRuntime runtime, Action<WorkloadEvent> onEvent) : IDisposable
    {
        public void Dispose()
        {
            lock (runtime._gate)
            {
                runtime._subscribers.Remove(onEvent);
            }
        }
    }

    private sealed class Instance
    {
        public Instance(WorkloadRevision revision, long ordinal, List<InMemoryFaults.FaultRule> rules, DateTimeOffset now, bool delayed)
        {
            Ordinal = ordinal;
            Rules = rules;
            var id = string.Create(CultureInfo.InvariantCulture, $"{revision.DeploymentId}-{revision.Component.Id}-r{revision.Revision}-{ordinal}");
            var port = revision.Component.Ports.Count > 0 ? (int)(10000 + (ordinal % 50000)) : 0;
            var failStart = rules.FirstOrDefault(r => r.Kind == InMemoryFaults.FaultKind.FailStart);
            var response = rules.LastOrDefault(r => r.Kind == InMemoryFaults.FaultKind.Response);
            ErrorRate = response?.ErrorRate ?? 0;
            Latency = response?.Latency ?? TimeSpan.Zero;
            Logs = failStart is not null ? [.. failStart.LogLines] : [$"instance {id} started"];
            Current = new WorkloadInstance
            {
                InstanceId = id,
                OwnerId = revision.OwnerId,
                DeploymentId = revision.DeploymentId,
                ComponentId = revision.Component.Id,
                Revision = revision.Revision,
                State = failStart is not null ? InstanceState.Failed : delayed ? InstanceState.Starting : InstanceState.Running,
                Health = rules.Any(r => r.Kind == InMemoryFaults.FaultKind.Unhealthy && r.After <= TimeSpan.Zero) ? InstanceHealth.Unhealthy : InstanceHealth.Unknown,
                ExitCode = failStart?.ExitCode,
                Message = failStart?.Message,
                StartedAt = failStart is null && !delayed ? now : null,
                Endpoints = port == 0 ? [] : [new ServiceEndpoint("in-memory", port, revision.Component.Ports[0].Name)],
            };
        }

        public long Ordinal { get; }

        public List<InMemoryFaults.FaultRule> Rules { get; }

        public List<string> Logs { get; }

        public double ErrorRate { get; }

        public TimeSpan Latency { get; }

        public WorkloadInstance Current { get; set; }

        public bool Matches(string deploymentId, string? componentId, int? revision)
            => string.Equals(Current.DeploymentId, deploymentId, StringComparison.Ordinal)
               && (componentId is null || string.Equals(Current.ComponentId, componentId, StringComparison.Ordinal))
               && (revision is null || Current.Revision == revision);

        public WorkloadInstance Started(DateTimeOffset now) => Current with { State = InstanceState.Running, StartedAt = now };
    }
}
