using System.Runtime.CompilerServices;
using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration;

internal sealed partial class OrchestrationVm
{
    private readonly SemaphoreSlim _admission = new(1, 1);

    /// <summary>Live deployments by environment and name, so admission checks for a duplicate in constant time.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _liveNames = new(StringComparer.Ordinal);

    private static string LiveNameKey(DeploymentSpec spec) => spec.Environment + "/" + spec.Name;

    /// <summary>The name, a dash and 8 random hex digits (32 random bits; ids are not secrets, so no cryptographic generator).</summary>
    private static string NewDeploymentId(string name)
        => string.Create(name.Length + 9, name, static (chars, name) =>
        {
            name.AsSpan().CopyTo(chars);
            chars[name.Length] = '-';
            Span<byte> random = stackalloc byte[4];
            Random.Shared.NextBytes(random);
            Convert.TryToHexStringLower(random, chars[(name.Length + 1)..], out _);
        });

    public async Task<string> DeployAsync(DeploymentSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        await ValidateAsync(spec, actor, "deployment.deploy", spec.Name).ConfigureAwait(false);
        await AuthorizeAsync(OrchestrationVerbs.Deploy, spec.Environment, spec.AppId, null, spec, cancellationToken).ConfigureAwait(false);
        var score = await EvaluateSecurityAsync(spec, actor, spec.Name, cancellationToken).ConfigureAwait(false);

        DeploymentEntry entry;
        RolloutWork work;
        await _admission.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var liveName = LiveNameKey(spec);
            if (_liveNames.TryGetValue(liveName, out var existing))
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.Conflict,
                    $"A deployment named '{spec.Name}' already exists in environment '{spec.Environment}' (id '{existing}'); update it with UpdateAsync, or destroy it first.");
            }

            var id = NewDeploymentId(spec.Name);
            while (_entries.ContainsKey(id))
            {
                // 32 random bits can repeat for a name deployed over and over: never reuse a remembered id.
                id = NewDeploymentId(spec.Name);
            }

            var reservation = spec.GetReservation();
            _ledger.Reserve(id, reservation);
            var now = Time.GetUtcNow();
            var record = new DeploymentRecord
            {
                Id = id,
                State = DeploymentState.Pending,
                Revisions = [new RevisionSpec(1, spec)],
                TargetRevision = 1,
                CreatedAt = now,
                UpdatedAt = now,
                CreatedBy = actor.Id,
                Allocation = reservation,
                SecurityScore = score,
            };
            try
            {
                await Store.SaveAsync(record, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _ledger.Release(id);
                throw;
            }

            entry = new DeploymentEntry(this, record);
            entry.StepContext = CreateStepContext(entry);
            _entries[id] = entry;
            _liveNames[liveName] = id;
            _telemetry.DeploymentsActive.Add(1);
            _lastDeploymentId = id;
            _lastDeploymentAt = now;
            work = entry.BeginWork(RolloutKind.Rollout, null, 1, 0, null, now);
        }
        finally
        {
            _admission.Release();
        }

        Log.Accepted(Logger, entry.DeploymentId, spec.Name, 1, spec.Strategy.Name);
        PublishStateChanged(DeploymentState.Pending, entry.Record, "created");
        await AuditAsync(entry.Record.CreatedAt, actor.Id, "deployment.deploy", entry.DeploymentId, "accepted", SpecData(spec, 1)).ConfigureAwait(false);
        // Queued means waiting for a slot: a rollout that gets one at once goes from Pending straight to Deploying.
        if (!_queue.TryStartNow(work))
        {
            await entry.SetStateAsync(DeploymentState.Queued, "queued").ConfigureAwait(false);
            _queue.Enqueue(work);
        }

        return entry.DeploymentId;
    }

    public async Task<RolloutPlan> PlanAsync(DeploymentSpec spec, string? deploymentId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var errors = CollectErrors(spec);
        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration($"Deployment spec '{spec.Name}'", errors);
        }

        RevisionSpec? stable = null;
        var number = 1;
        string id;
        if (deploymentId is not null)
        {
            var entry = await GetEntryAsync(deploymentId, OrchestrationVerbs.Read, cancellationToken).ConfigureAwait(false);
            var record = entry.Record;
            stable = record.StableRevision is { } s ? record.FindRevision(s) : null;
            number = record.LatestRevision + 1;
            id = record.Id;
        }
        else
        {
            await AuthorizeAsync(OrchestrationVerbs.Read, spec.Environment, spec.AppId, null, spec, cancellationToken).ConfigureAwait(false);
            id = spec.Name + "-(dry-run)";
        }

        var strategy = _strategies[spec.Strategy.Name];
        var plan = strategy.Plan(new RolloutContext(id, stable, new RevisionSpec(number, spec), Router is not null));
        var unhandled = _executor.FindUnhandledSteps(plan);
        if (unhandled.Count > 0)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The plan uses steps no handler is registered for: {string.Join(", ", unhandled)}.");
        }

        return plan;
    }

    public async Task<int> UpdateAsync(string deploymentId, DeploymentSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var entry = await GetEntryAsync(deploymentId, OrchestrationVerbs.Update, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        var current = entry.Record.CurrentSpec;
        var errors = CollectErrors(spec);
        if (!string.Equals(spec.Name, current.Name, StringComparison.Ordinal))
        {
            errors.Add($"name: '{spec.Name}' differs from the deployment's name '{current.Name}'; an update keeps the name.");
        }

        if (!string.Equals(spec.AppId, current.AppId, StringComparison.Ordinal))
        {
            errors.Add($"appId: '{spec.AppId}' differs from the deployment's app '{current.AppId}'; an update keeps the app.");
        }

        if (!string.Equals(spec.Environment, current.Environment, StringComparison.Ordinal))
        {
            errors.Add($"environment: '{spec.Environment}' differs from the deployment's environment '{current.Environment}'; deploy to another environment with DeployAsync (or promotion).");
        }

        if (errors.Count > 0)
        {
            await AuditAsync(actor.Id, "deployment.update", deploymentId, "rejected", new AuditData([new("errors", string.Join(" | ", errors))])).ConfigureAwait(false);
            throw OrchestrationException.InvalidConfiguration($"Deployment spec '{spec.Name}'", errors);
        }

        var score = await EvaluateSecurityAsync(spec, actor, deploymentId, cancellationToken).ConfigureAwait(false);
        var revision = await StartRolloutAsync(entry, spec, score, "update", cancellationToken).ConfigureAwait(false);
        await AuditAsync(actor.Id, "deployment.update", deploymentId, "accepted", SpecData(spec, revision)).ConfigureAwait(false);
        return revision;
    }

    public async Task<int> RollbackAsync(string deploymentId, int? toRevision = null, CancellationToken cancellationToken = default)
    {
        var entry = await GetEntryAsync(deploymentId, OrchestrationVerbs.Rollback, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        var record = entry.Record;
        var retained = string.Join(", ", record.Revisions.Select(r => r.Number.ToString(CultureInfo.InvariantCulture)));
        RevisionSpec? target;
        if (toRevision is { } wanted)
        {
            target = record.FindRevision(wanted) ?? throw new OrchestrationException(
                OrchestrationErrorKind.NotFound,
                $"Revision {wanted} of deployment '{deploymentId}' is no longer available (retained revisions: {retained}); roll back to one of those, or raise rollback.historyLimit.");
        }
        else
        {
            target = record.Revisions.Where(r => r.Number < (record.StableRevision ?? int.MaxValue)).MaxBy(r => r.Number)
                ?? throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"Deployment '{deploymentId}' has no retained revision before the serving one (retained revisions: {retained}).");
        }

        if (target.Number == record.StableRevision)
        {
            throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"Revision {target.Number} is already serving deployment '{deploymentId}'.");
        }

        var revision = await StartRolloutAsync(entry, target.Spec, record.SecurityScore, "rollback", cancellationToken).ConfigureAwait(false);
        await AuditAsync(actor.Id, "deployment.rollback", deploymentId, "accepted", new AuditData([new("to.revision", target.Number.ToString(CultureInfo.InvariantCulture)), new("revision", revision.ToString(CultureInfo.InvariantCulture))])).ConfigureAwait(false);
        return revision;
    }

    public async Task ScaleAsync(string deploymentId, int replicas, string? componentId = null, CancellationToken cancellationToken = default)
    {
        var entry = await GetEntryAsync(deploymentId, OrchestrationVerbs.Scale, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        if (replicas is < 0 or > DeploymentSpecValidator.MaxReplicas)
        {
            throw OrchestrationException.InvalidConfiguration("The scale request", [$"replicas: {replicas} is out of range; use 0 to {DeploymentSpecValidator.MaxReplicas}."]);
        }

        RolloutWork work;
        await _admission.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var record = entry.Record;
            if (record.State is not (DeploymentState.Running or DeploymentState.RolledBack) || record.StableRevision is not { } stableNumber)
            {
                throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"Deployment '{deploymentId}' is {record.State}; it can be scaled only while it serves a revision (Running or RolledBack).");
            }

            var stable = record.FindRevision(stableNumber)!;
            if (componentId is not null && !stable.Spec.Components.Any(c => string.Equals(c.Id, componentId, StringComparison.Ordinal)))
            {
                throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"Deployment '{deploymentId}' has no component '{componentId}' (components: {string.Join(", ", stable.Spec.Components.Select(c => c.Id))}).");
            }

            var scaled = stable.Spec with
            {
                Components = [.. stable.Spec.Components.Select(c => componentId is null || string.Equals(c.Id, componentId, StringComparison.Ordinal) ? c with { Replicas = replicas } : c)],
            };
            var reservation = Max(record.Allocation, scaled.GetReservation());
            _ledger.Reserve(deploymentId, reservation);
            work = entry.BeginWork(RolloutKind.Scale, stableNumber, stableNumber, 0, stable.Spec);
            await entry.UpdateAsync(
                r => r with
                {
                    State = DeploymentState.Queued,
                    Revisions = ReplaceRevision(r.Revisions, new RevisionSpec(stableNumber, scaled)),
                    TargetRevision = stableNumber,
                    Allocation = reservation,
                    Message = null,
                },
                "queued (scale)",
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _admission.Release();
        }

        await AuditAsync(actor.Id, "deployment.scale", deploymentId, "accepted", new AuditData([new("replicas", replicas.ToString(CultureInfo.InvariantCulture)), new("component", componentId)])).ConfigureAwait(false);
        _queue.Enqueue(work);
    }

    public async Task DestroyAsync(string deploymentId, bool force = false, CancellationToken cancellationToken = default)
    {
        var entry = await GetEntryAsync(deploymentId, OrchestrationVerbs.Destroy, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        if (entry.Record.State == DeploymentState.Destroyed)
        {
            return;
        }

        await AuditAsync(actor.Id, "deployment.destroy", deploymentId, "accepted", force ? ForcedData : GracefulData).ConfigureAwait(false);
        if (entry.Work is { } work)
        {
            work.Control.Abort($"destroyed by {actor.Id}", force: true);
            if (work.TryCancelQueued())
            {
                entry.EndWork(work);
            }

            await work.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await DestroyCoreAsync(entry, force, cancellationToken).ConfigureAwait(false);
    }

    public async Task PauseAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var (entry, work) = await GetActiveWorkAsync(deploymentId, OrchestrationVerbs.Pause, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        if (work.Control.Pause($"paused by {actor.Id}"))
        {
            await InterventionAsync(entry, actor, "pause", $"paused by {actor.Id}").ConfigureAwait(false);
        }
    }

    public async Task ResumeAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var (entry, work) = await GetActiveWorkAsync(deploymentId, OrchestrationVerbs.Resume, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        if (work.Control.Resume($"resumed by {actor.Id}"))
        {
            await InterventionAsync(entry, actor, "resume", $"resumed by {actor.Id}").ConfigureAwait(false);
        }
    }

    public async Task AbortAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var (entry, work) = await GetActiveWorkAsync(deploymentId, OrchestrationVerbs.Abort, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        work.Control.Abort($"aborted by {actor.Id}", force: false);
        await InterventionAsync(entry, actor, "abort", $"aborted by {actor.Id}").ConfigureAwait(false);
        if (work.TryCancelQueued())
        {
            try
            {
                await FinishAbortedBeforeStartAsync(work).ConfigureAwait(false);
            }
            finally
            {
                entry.EndWork(work);
            }
        }
    }

    public async Task PromoteAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var (entry, work) = await GetActiveWorkAsync(deploymentId, OrchestrationVerbs.Promote, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        if (!work.Control.TryPromote())
        {
            throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"The rollout of '{deploymentId}' is not waiting at a pause step, so there is nothing to promote (current step: {entry.CurrentStep ?? "none"}).");
        }

        await InterventionAsync(entry, actor, "promote", $"promoted by {actor.Id}").ConfigureAwait(false);
    }

    public Task ApproveAsync(string deploymentId, string gate, string? comment = null, CancellationToken cancellationToken = default)
        => DecideAsync(deploymentId, gate, approve: true, comment, cancellationToken);

    public Task RejectAsync(string deploymentId, string gate, string? comment = null, CancellationToken cancellationToken = default)
        => DecideAsync(deploymentId, gate, approve: false, comment, cancellationToken);

    private async Task DecideAsync(string deploymentId, string gate, bool approve, string? comment, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(gate);
        var actor = OrchestrationActor.Current;
        var (entry, work) = await GetActiveWorkAsync(deploymentId, OrchestrationVerbs.Approve, cancellationToken, new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["gate"] = gate,
            ["requester"] = _entries.TryGetValue(deploymentId, out var e) ? e.Record.CreatedBy : "",
        }).ConfigureAwait(false);
        var approvals = work.Control.Decide(gate, actor.Id, approve, comment);
        await AuditAsync(actor.Id, approve ? "approval.approve" : "approval.reject", deploymentId, approve ? "approved" : "rejected", new AuditData([new("gate", gate), new("comment", comment), new("approvals", approvals.ToString(CultureInfo.InvariantCulture))])).ConfigureAwait(false);
        Events.Publish(entry.DeploymentId, DeploymentEventKind.Intervention, entry.Record.State, $"gate '{gate}' {(approve ? "approved" : "rejected")} by {actor.Id}" + (string.IsNullOrWhiteSpace(comment) ? "" : $": {comment}"));
    }

    private async Task<(DeploymentEntry Entry, RolloutWork Work)> GetActiveWorkAsync(string deploymentId, string verb, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? attributes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        DeploymentIds.ThrowIfInvalid(deploymentId);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        if (!_entries.TryGetValue(deploymentId, out var entry))
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotFound, NotFoundMessage(deploymentId));
        }

        var spec = entry.Record.CurrentSpec;
        await AuthorizeAsync(verb, spec.Environment, spec.AppId, deploymentId, null, cancellationToken, attributes).ConfigureAwait(false);
        var work = entry.Work;
        if (work is null || work.Control.IsAborted)
        {
            throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"Deployment '{deploymentId}' has no rollout queued or running (it is {entry.Record.State}); there is nothing to {verb}.");
        }

        return (entry, work);
    }

    private async Task InterventionAsync(DeploymentEntry entry, OrchestrationActor actor, string what, string message)
    {
        Events.Publish(entry.DeploymentId, DeploymentEventKind.Intervention, entry.Record.State, message);
        await AuditAsync(actor.Id, "rollout." + what, entry.DeploymentId, "accepted").ConfigureAwait(false);
    }

    /// <summary>Admits a new revision of a settled deployment and queues its rollout.</summary>
    private async Task<int> StartRolloutAsync(DeploymentEntry entry, DeploymentSpec spec, double? score, string why, CancellationToken cancellationToken)
    {
        RolloutWork work;
        int number;
        await _admission.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var record = entry.Record;
            if (record.State is not (DeploymentState.Running or DeploymentState.RolledBack or DeploymentState.Failed))
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.Conflict,
                    $"Deployment '{record.Id}' is {record.State}; wait until its rollout ends (or abort it) before starting an {why}.");
            }

            number = record.LatestRevision + 1;
            var reservation = Max(record.Allocation, spec.GetReservation());
            _ledger.Reserve(record.Id, reservation);
            work = entry.BeginWork(RolloutKind.Rollout, record.StableRevision, number, 0, null);
            await entry.UpdateAsync(
                r => r with
                {
                    State = DeploymentState.Queued,
                    Revisions = Prune([.. r.Revisions, new RevisionSpec(number, spec)], r.StableRevision, number, spec.Rollback.HistoryLimit),
                    TargetRevision = number,
                    Allocation = reservation,
                    SecurityScore = score ?? r.SecurityScore,
                    Message = null,
                },
                $"queued ({why} to revision {number.ToString(CultureInfo.InvariantCulture)})",
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _admission.Release();
        }

        _queue.Enqueue(work);
        return number;
    }

    private async Task DestroyCoreAsync(DeploymentEntry entry, bool force, CancellationToken cancellationToken)
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
                await _runtimePipeline.ExecuteAsync(static (s, ct) => s.runtime.EnsureReplicasAsync(s.workload, 0, ct), (runtime, workload), cancellationToken).ConfigureAwait(false);
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

        await _runtimePipeline.ExecuteAsync(static (s, ct) => s.runtime.RemoveDeploymentAsync(s.id, ct), (runtime, id), cancellationToken).ConfigureAwait(false);
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
        _liveNames.TryRemove(KeyValuePair.Create(LiveNameKey(record.CurrentSpec), id));
        _telemetry.DeploymentsActive.Add(-1);
        await AuditAsync(now, OrchestrationActor.Current.Id, "deployment.destroyed", id, "succeeded").ConfigureAwait(false);
        await OnDestroyedAsync(id).ConfigureAwait(false);
    }

    private List<string> CollectErrors(DeploymentSpec spec)
    {
        var problems = spec.Validate();
        var errors = problems as List<string> ?? [.. problems]; // the validator's own fresh list: no copy
        if (spec.Strategy is not null && !_strategies.ContainsKey(spec.Strategy.Name))
        {
            errors.Add($"strategy: no strategy named '{spec.Strategy.Name}' is registered (registered: {string.Join(", ", _strategies.Keys.Order(StringComparer.Ordinal))}); add the package that provides it, for example .AddStrategies().");
        }

        return errors;
    }

    private ValueTask ValidateAsync(DeploymentSpec spec, OrchestrationActor actor, string action, string target)
    {
        var errors = CollectErrors(spec);
        return errors.Count == 0 ? ValueTask.CompletedTask : RejectAsync(errors, spec, actor, action, target);

        async ValueTask RejectAsync(List<string> errors, DeploymentSpec spec, OrchestrationActor actor, string action, string target)
        {
            await AuditAsync(actor.Id, action, target, "rejected", new AuditData([new("errors", string.Join(" | ", errors))])).ConfigureAwait(false);
            throw OrchestrationException.InvalidConfiguration($"Deployment spec '{spec.Name}'", errors);
        }
    }

    private ValueTask<double?> EvaluateSecurityAsync(DeploymentSpec spec, OrchestrationActor actor, string target, CancellationToken cancellationToken)
        => _securityGate is null ? new ValueTask<double?>((double?)null) : EvaluateGateAsync(_securityGate, spec, actor, target, cancellationToken);

    private async ValueTask<double?> EvaluateGateAsync(ISecurityGate gate, DeploymentSpec spec, OrchestrationActor actor, string target, CancellationToken cancellationToken)
    {

        var result = await gate.EvaluateAsync(spec, cancellationToken).ConfigureAwait(false);
        if (!result.Passed)
        {
            await AuditAsync(actor.Id, "security.gate", target, "refused", new AuditData([new("score", result.Score.ToString("0.0", CultureInfo.InvariantCulture)), new("findings", string.Join(" | ", result.Findings))])).ConfigureAwait(false);
            throw new OrchestrationException(
                OrchestrationErrorKind.SecurityValidationFailed,
                string.Create(CultureInfo.InvariantCulture, $"The security gate refused '{spec.Name}' (score {result.Score:0.0}); fix these findings and deploy again:")
                + string.Concat(result.Findings.Select(f => Environment.NewLine + "  - " + f)),
                result.Findings);
        }

        return result.Score;
    }

    // Details that never vary are made once (audit details are read-only).
    private static readonly AuditData ForcedData = new([new("force", "true")]);
    private static readonly AuditData GracefulData = new([new("force", "false")]);

    private static AuditData SpecData(DeploymentSpec spec, int revision) => new(
    [
        new("name", spec.Name),
        new("app", spec.AppId),
        new("environment", spec.Environment),
        new("type", StateNames.Of(spec.Type)),
        new("strategy", spec.Strategy.Name),
        new("revision", revision.ToString(CultureInfo.InvariantCulture)),
        new("components", ComponentsText(spec.Components)),
    ]);

    /// <summary>The components as <c>id x replicas</c>, comma-separated: <c>web x3,db x1</c> without the spaces.</summary>
    private static string ComponentsText(IReadOnlyList<ComponentSpec> components)
    {
        var text = new DefaultInterpolatedStringHandler(components.Count, components.Count * 2, CultureInfo.InvariantCulture, stackalloc char[128]);
        for (var i = 0; i < components.Count; i++)
        {
            if (i > 0)
            {
                text.AppendLiteral(",");
            }

            text.AppendFormatted(components[i].Id);
            text.AppendLiteral("x");
            text.AppendFormatted(components[i].Replicas);
        }

        return text.ToStringAndClear();
    }

    internal static ResourceRequirements Max(ResourceRequirements a, ResourceRequirements b) => new()
    {
        CpuCores = Math.Max(a.CpuCores, b.CpuCores),
        MemoryMb = Math.Max(a.MemoryMb, b.MemoryMb),
        StorageGb = Math.Max(a.StorageGb, b.StorageGb),
        NetworkBandwidthMbps = Math.Max(a.NetworkBandwidthMbps, b.NetworkBandwidthMbps),
    };

    private static IReadOnlyList<RevisionSpec> ReplaceRevision(IReadOnlyList<RevisionSpec> revisions, RevisionSpec replacement)
        => [.. revisions.Select(r => r.Number == replacement.Number ? replacement : r)];

    /// <summary>Keeps the newest <paramref name="limit"/> revisions plus the stable and the target revision.</summary>
    private static IReadOnlyList<RevisionSpec> Prune(IReadOnlyList<RevisionSpec> revisions, int? stable, int? target, int limit)
    {
        if (revisions.Count <= limit)
        {
            return revisions;
        }

        var newest = revisions.OrderByDescending(r => r.Number).Take(limit).Select(r => r.Number).ToHashSet();
        return [.. revisions.Where(r => newest.Contains(r.Number) || r.Number == stable || r.Number == target).OrderBy(r => r.Number)];
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
            OwnerId = VmId,
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
