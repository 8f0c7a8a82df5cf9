using Bpi.Orchestration.Admission;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Queries;

/// <summary>
/// Answers questions and changes nothing: a deployment's status, the list, rollout history, DORA figures, the
/// orchestrator's state, and dry-run plans. Each question is authorized as a read.
/// </summary>
internal sealed class DeploymentQueries(
    OperationGate gate,
    DeploymentRegistry registry,
    SpecChecks checks,
    ResourceLedger ledger,
    RolloutRunner runner,
    TimeProvider time,
    OrchestrationOptions options,
    Resilience.CircuitBreakers breakers)
{
    private static readonly IReadOnlyDictionary<int, int> NoWeights = System.Collections.ObjectModel.ReadOnlyDictionary<int, int>.Empty;
    private readonly RuntimeObservations _observations = ObserveUntilDestroyed(registry, time);
    private int _lastManagedInstances;

    /// <summary>How many deployments have a runtime observation kept (destroyed ones are dropped).</summary>
    internal int ObservedDeployments => _observations.Count;

    public async Task<DeploymentStatus> GetStatusAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var entry = await gate.GetEntryAsync(deploymentId, OrchestrationVerbs.Read, cancellationToken).ConfigureAwait(false);
        return await BuildStatusAsync(entry, includeInstances: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DeploymentStatus> WaitForStateAsync(string deploymentId, Func<DeploymentState, bool> predicate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var entry = await gate.GetEntryAsync(deploymentId, OrchestrationVerbs.Read, cancellationToken).ConfigureAwait(false);
        if (!predicate(entry.Record.State))
        {
            var reached = entry.WaitForStateAsync(predicate, cancellationToken);
            if (!reached.IsCompleted && entry.Work is { } work)
            {
                // The caller's thread would idle until the rollout moves: let it start a queued rollout that is next in line.
                runner.Queue.TryRunInline(work);
            }

            await reached.ConfigureAwait(false);
        }

        return await BuildStatusAsync(entry, includeInstances: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RolloutReport>> GetRolloutHistoryAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var entry = await gate.GetEntryAsync(deploymentId, OrchestrationVerbs.Read, cancellationToken).ConfigureAwait(false);
        return entry.Record.History;
    }

    public async Task<DoraReport> GetDoraAsync(string appId, string environment, TimeSpan? window, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appId);
        ArgumentException.ThrowIfNullOrWhiteSpace(environment);
        if (window is { } w && w <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(window), w, "The window must be greater than zero.");
        }

        await gate.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        await gate.AuthorizeAsync(OrchestrationVerbs.Read, environment, appId, null, null, cancellationToken).ConfigureAwait(false);
        var rollouts = registry.Entries.SelectMany(e => e.Record.History).Where(r => r.AppId == appId && r.Environment == environment);
        return DoraReport.Compute(appId, environment, window ?? options.DoraWindow, rollouts, time.GetUtcNow());
    }

    /// <summary>The DORA figures of every application and environment with history, for the published gauges.</summary>
    public IEnumerable<DoraReport> AllDora()
    {
        var now = time.GetUtcNow();
        return registry.Entries
            .SelectMany(e => e.Record.History)
            .GroupBy(r => (r.AppId, r.Environment))
            .Select(g => DoraReport.Compute(g.Key.AppId, g.Key.Environment, options.DoraWindow, g, now))
            .Where(d => d.Rollouts > 0)
            .ToList();
    }

    public async Task<DeploymentList> ListAsync(DeploymentQuery? query, CancellationToken cancellationToken)
    {
        await gate.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        await gate.AuthorizeAsync(OrchestrationVerbs.Read, null, null, null, null, cancellationToken).ConfigureAwait(false);
        query ??= new DeploymentQuery();
        var totals = new Dictionary<DeploymentState, int>();
        var matching = new List<DeploymentStatus>();
        foreach (var entry in registry.Entries)
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
        return new DeploymentList(matching, totals, ledger.Utilization);
    }

    public async Task<VmState> GetStateAsync(VmStatus status, string? lastDeploymentId, DateTimeOffset? lastDeploymentAt, CancellationToken cancellationToken)
    {
        await gate.AuthorizeAsync(OrchestrationVerbs.Read, null, null, null, null, cancellationToken).ConfigureAwait(false);
        var instances = 0;
        if (runner.Runtime is { } runtime && status == VmStatus.Running)
        {
            instances = await CountManagedInstancesAsync(runtime, cancellationToken).ConfigureAwait(false);
        }

        var active = 0;
        var inProgress = 0;
        foreach (var entry in registry.Entries)
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

        return new VmState(options.VmId, status, active, inProgress, instances, ledger.Utilization, AverageSecurityScore(), lastDeploymentId, lastDeploymentAt)
        {
            CircuitBreakers = breakers.GetStatus(),
        };
    }

    /// <summary>
    /// The instances this orchestrator owns, as a state read counts them: one runtime call without retries, waited for at
    /// most <see cref="RuntimeObservations.ReadBudget"/> (as a status read); when the runtime fails or is slower, the last
    /// count stands, so a state read never waits out an engine blip.
    /// </summary>
    private async ValueTask<int> CountManagedInstancesAsync(IWorkloadRuntime runtime, CancellationToken cancellationToken)
    {
        try
        {
            var owned = await runtime.ListOwnedAsync(cancellationToken).AsTask().WaitAsync(RuntimeObservations.ReadBudget, time, cancellationToken).ConfigureAwait(false);
            var count = owned.Count(i => i.OwnerId is null || string.Equals(i.OwnerId, options.VmId, StringComparison.Ordinal));
            Volatile.Write(ref _lastManagedInstances, count);
            return count;
        }
        catch (Exception ex) when (ex is OrchestrationException or TimeoutException)
        {
            return Volatile.Read(ref _lastManagedInstances);
        }
    }

    /// <summary>The plan a spec would run (a dry run): for a new deployment, or as the next revision of an existing one.</summary>
    public async Task<RolloutPlan> PlanAsync(DeploymentSpec spec, string? deploymentId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        await gate.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var errors = checks.CollectErrors(spec);
        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration($"Deployment spec '{spec.Name}'", errors);
        }

        RevisionSpec? stable = null;
        var number = 1;
        string id;
        if (deploymentId is not null)
        {
            var entry = await gate.GetEntryAsync(deploymentId, OrchestrationVerbs.Read, cancellationToken).ConfigureAwait(false);
            var record = entry.Record;
            stable = record.StableRevision is { } s ? record.FindRevision(s) : null;
            number = record.LatestRevision + 1;
            id = record.Id;
        }
        else
        {
            await gate.AuthorizeAsync(OrchestrationVerbs.Read, spec.Environment, spec.AppId, null, spec, cancellationToken).ConfigureAwait(false);
            id = spec.Name + "-(dry-run)";
        }

        return runner.PlanRollout(new RolloutContext(id, stable, new RevisionSpec(number, spec), runner.Router is not null));
    }

    /// <summary>The average security score of the live deployments that have one, for the published gauge.</summary>
    public double? AverageSecurityScore()
    {
        double sum = 0;
        var count = 0;
        foreach (var entry in registry.Entries)
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

    private async ValueTask<DeploymentStatus> BuildStatusAsync(DeploymentEntry entry, bool includeInstances, CancellationToken cancellationToken)
    {
        var record = entry.Record;
        var spec = record.CurrentSpec;
        var observation = RuntimeObservations.Observation.None;
        if (includeInstances && runner.Runtime is { } runtime)
        {
            if (record.State.IsLive())
            {
                observation = await _observations.ReadAsync(runtime, record.Id, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                _observations.Forget(record.Id);
            }
        }

        var instances = observation.Instances;
        // An array of exactly one status per component (the status keeps it): no list around it.
        var components = new ComponentStatus[spec.Components.Count];
        for (var position = 0; position < components.Length; position++)
        {
            var component = spec.Components[position];
            var t = entry.Progress.GetTraffic(component.Id);
            components[position] = new ComponentStatus(component.Id, component.Replicas, RevisionCounter.Count(instances, component.Id), t.Weights ?? NoWeights, t.Approximated);
        }

        var settled = record.State.IsSettled();
        var healing = entry.Healer?.GetStatus() ?? (HealingState.Healthy, []);
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
            Progress = settled ? (record.State is DeploymentState.Running or DeploymentState.RolledBack ? 100 : 0) : entry.Progress.Percent,
            CurrentStep = settled ? null : entry.Progress.CurrentStep,
            StableRevision = record.StableRevision,
            TargetRevision = record.TargetRevision,
            Allocation = record.Allocation,
            SecurityScore = record.SecurityScore,
            Message = record.Message,
            Components = components,
            InstancesObservedAt = observation.ObservedAt,
            RuntimeError = observation.Error,
            RuntimeErrorKind = observation.Error is null ? null : observation.ErrorKind,
            Healing = healing.State,
            HealingDetails = healing.Components,
            Autoscaling = entry.Autoscaler?.Decisions() ?? [],
        };
    }

    private static RuntimeObservations ObserveUntilDestroyed(DeploymentRegistry registry, TimeProvider time)
    {
        var observations = new RuntimeObservations(time);
        registry.Destroyed += observations.Forget;
        return observations;
    }
}
