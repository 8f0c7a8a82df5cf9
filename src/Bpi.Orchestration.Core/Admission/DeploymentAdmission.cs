using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Recording;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration.Admission;

/// <summary>
/// Admits work: validates the spec, authorizes the actor, asks the security gate, reserves resources, saves the record,
/// audits the request and hands the plan run to the <see cref="RolloutRunner"/>. One admission at a time, so two
/// requests never both pass the duplicate or state checks.
/// </summary>
internal sealed class DeploymentAdmission(
    OperationGate gate,
    SpecChecks checks,
    DeploymentRegistry registry,
    ResourceLedger ledger,
    DeploymentRecorder recorder,
    RolloutRunner runner,
    Func<DeploymentRecord, DeploymentEntry> newEntry) : IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    public string? LastDeploymentId { get; private set; }

    public DateTimeOffset? LastDeploymentAt { get; private set; }

    public void Dispose() => _lock.Dispose();

    public async Task<string> DeployAsync(DeploymentSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        await gate.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        await checks.ValidateAsync(spec, actor, "deployment.deploy", spec.Name).ConfigureAwait(false);
        await gate.AuthorizeAsync(OrchestrationVerbs.Deploy, spec.Environment, spec.AppId, null, spec, cancellationToken).ConfigureAwait(false);
        var score = await checks.EvaluateSecurityAsync(spec, actor, spec.Name, null, cancellationToken).ConfigureAwait(false);

        DeploymentEntry entry;
        RolloutWork work;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (registry.TryGetLive(spec, out var existing))
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.Conflict,
                    $"A deployment named '{spec.Name}' already exists in environment '{spec.Environment}' (id '{existing}'); update it with UpdateAsync, or destroy it first.");
            }

            var id = registry.NewDeploymentId(spec.Name);
            var reservation = spec.GetReservation();
            ledger.Reserve(id, reservation);
            var now = recorder.Time.GetUtcNow();
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
                // With shared state the instance that accepts a deployment owns it from its first write.
                await recorder.Ownership.ClaimNewAsync(id, cancellationToken).ConfigureAwait(false);
                record.Touch(now, recorder.Ownership.GetFencingToken(id));
                record.StoredAs(await recorder.Store.SaveAsync(record, cancellationToken).ConfigureAwait(false));
            }
            catch
            {
                ledger.Release(id);
                throw;
            }

            entry = newEntry(record);
            registry.Add(entry);
            recorder.Telemetry.DeploymentsActive.Add(1);
            LastDeploymentId = id;
            LastDeploymentAt = now;
            work = entry.BeginWork(RolloutKind.Rollout, null, 1, 0, null, now);
        }
        finally
        {
            _lock.Release();
        }

        Log.Accepted(recorder.Logger, entry.DeploymentId, spec.Name, 1, spec.Strategy.Name);
        recorder.PublishStateChanged(DeploymentState.Pending, entry.Record, "created");
        await recorder.AuditAsync(entry.Record.CreatedAt, actor.Id, "deployment.deploy", entry.DeploymentId, "accepted", checks.SpecData(spec, 1)).ConfigureAwait(false);

        // Queued means waiting for a slot: a rollout that gets one at once goes from Pending straight to Deploying.
        if (!runner.Queue.TryStartNow(work))
        {
            await entry.SetStateAsync(DeploymentState.Queued, "queued").ConfigureAwait(false);
            runner.Queue.Enqueue(work);
        }

        return entry.DeploymentId;
    }

    public async Task<int> UpdateAsync(string deploymentId, DeploymentSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var entry = await gate.GetEntryAsync(deploymentId, OrchestrationVerbs.Update, cancellationToken).ConfigureAwait(false);
        var actor = OrchestrationActor.Current;
        var current = entry.Record.CurrentSpec;
        var errors = checks.CollectErrors(spec);
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
            await checks.RejectAsync(errors, spec, actor, "deployment.update", deploymentId).ConfigureAwait(false);
        }

        var score = await checks.EvaluateSecurityAsync(spec, actor, deploymentId, entry.Record, cancellationToken).ConfigureAwait(false);
        var revision = await StartRolloutAsync(entry, spec, score, "update", cancellationToken).ConfigureAwait(false);
        await recorder.AuditAsync(actor.Id, "deployment.update", deploymentId, "accepted", checks.SpecData(spec, revision)).ConfigureAwait(false);
        return revision;
    }

    public async Task<int> RollbackAsync(string deploymentId, int? toRevision, CancellationToken cancellationToken)
    {
        var entry = await gate.GetEntryAsync(deploymentId, OrchestrationVerbs.Rollback, cancellationToken).ConfigureAwait(false);
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
        await recorder.AuditAsync(actor.Id, "deployment.rollback", deploymentId, "accepted", new AuditData([new("to.revision", target.Number.ToString(CultureInfo.InvariantCulture)), new("revision", revision.ToString(CultureInfo.InvariantCulture))])).ConfigureAwait(false);
        return revision;
    }

    public async Task ScaleAsync(string deploymentId, int replicas, string? componentId, CancellationToken cancellationToken)
    {
        var entry = await gate.GetEntryAsync(deploymentId, OrchestrationVerbs.Scale, cancellationToken).ConfigureAwait(false);
        await ScaleEntryAsync(entry, replicas, componentId, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Queues a scale of the serving revision of an entry the caller may act on (authorized by <see cref="ScaleAsync"/>,
    /// or the orchestrator's own autoscaler, which passes <paramref name="reason"/> for the audit record).
    /// </summary>
    internal async Task ScaleEntryAsync(DeploymentEntry entry, int replicas, string? componentId, string? reason, CancellationToken cancellationToken)
    {
        var deploymentId = entry.DeploymentId;
        var actor = OrchestrationActor.Current;
        if (replicas is < 0 or > DeploymentSpecValidator.MaxReplicas)
        {
            throw OrchestrationException.InvalidConfiguration("The scale request", [$"replicas: {replicas} is out of range; use 0 to {DeploymentSpecValidator.MaxReplicas}."]);
        }

        RolloutWork work;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
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
            var reservation = RevisionLists.Max(record.Allocation, scaled.GetReservation());
            ledger.Reserve(deploymentId, reservation);
            work = entry.BeginWork(RolloutKind.Scale, stableNumber, stableNumber, 0, stable.Spec);
            await entry.UpdateAsync(
                r => r with
                {
                    State = DeploymentState.Queued,
                    Revisions = RevisionLists.Replace(r.Revisions, new RevisionSpec(stableNumber, scaled)),
                    TargetRevision = stableNumber,
                    Allocation = reservation,
                    Message = null,
                },
                "queued (scale)",
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }

        await recorder.AuditAsync(actor.Id, "deployment.scale", deploymentId, "accepted", new AuditData(reason is null ? [new("replicas", replicas.ToString(CultureInfo.InvariantCulture)), new("component", componentId)] : [new("replicas", replicas.ToString(CultureInfo.InvariantCulture)), new("component", componentId), new("reason", reason)])).ConfigureAwait(false);
        runner.Queue.Enqueue(work);
    }

    /// <summary>Admits a new revision of a settled deployment and queues its rollout.</summary>
    private async Task<int> StartRolloutAsync(DeploymentEntry entry, DeploymentSpec spec, double? score, string why, CancellationToken cancellationToken)
    {
        RolloutWork work;
        int number;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
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
            var reservation = RevisionLists.Max(record.Allocation, spec.GetReservation());
            ledger.Reserve(record.Id, reservation);
            work = entry.BeginWork(RolloutKind.Rollout, record.StableRevision, number, 0, null);
            await entry.UpdateAsync(
                r => r with
                {
                    State = DeploymentState.Queued,
                    Revisions = RevisionLists.Prune([.. r.Revisions, new RevisionSpec(number, spec)], r.StableRevision, number, spec.Rollback.HistoryLimit),
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
            _lock.Release();
        }

        runner.Queue.Enqueue(work);
        return number;
    }
}
