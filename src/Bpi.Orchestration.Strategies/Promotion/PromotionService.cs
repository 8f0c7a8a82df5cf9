using System.Collections.Concurrent;
using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Strategies.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Strategies.Promotion;

/// <summary>The in-memory promotion service over <see cref="IOrchestrationVm"/>.</summary>
internal sealed class PromotionService : IPromotionService
{
    /// <summary>The label every promoted deployment carries with its release version.</summary>
    public const string ReleaseLabel = "release-version";

    private readonly IOrchestrationVm _vm;
    private readonly IAuditSink _audit;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, Lifecycle> _lifecycles;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<(string Lifecycle, string Version), DeploymentSpec> _releases = new();
    private readonly List<PromotionRecord> _history = [];
    private readonly ConcurrentDictionary<string, TaskCompletionSource<PromotionRecord>> _completions = new(StringComparer.Ordinal);
    private long _next;

    public PromotionService(IOrchestrationVm vm, IAuditSink audit, IOptions<PromotionOptions> options, TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        _vm = vm;
        _audit = audit;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger("Bpi.Orchestration.Strategies.Promotion") ?? NullLogger.Instance;
        var value = ValidatedOptions.Ensure(options.Value, new PromotionOptionsValidator());

        _lifecycles = value.Lifecycles.ToDictionary(l => l.Name, StringComparer.Ordinal);
    }

    public async Task<PromotionRecord> CreateReleaseAsync(string lifecycle, string version, DeploymentSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        ArgumentNullException.ThrowIfNull(spec);
        var life = GetLifecycle(lifecycle);
        if (!_releases.TryAdd((lifecycle, version), spec))
        {
            throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"Release '{version}' of lifecycle '{lifecycle}' exists already; promote it with PromoteAsync or create a new version.");
        }

        await AuditAsync(OrchestrationActor.Current.Id, "promotion.release", $"{lifecycle}/{version}", "created", new() { ["image"] = string.Join(",", spec.Components.Select(c => c.Image ?? c.Command?.FileName)) }).ConfigureAwait(false);
        return await PromoteAsync(lifecycle, version, life.Environments[0].Name, cancellationToken).ConfigureAwait(false);
    }

    public async Task<PromotionRecord> PromoteAsync(string lifecycle, string version, string? environment = null, CancellationToken cancellationToken = default)
    {
        var life = GetLifecycle(lifecycle);
        if (!_releases.ContainsKey((lifecycle, version)))
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"Lifecycle '{lifecycle}' has no release '{version}'; create it with CreateReleaseAsync.");
        }

        var actor = OrchestrationActor.Current.Id;
        PromotionRecord record;
        lock (_gate)
        {
            var history = _history.Where(h => h.Lifecycle == lifecycle && h.Version == version).ToList();
            var index = environment is null
                ? NextIndex(life, history)
                : IndexOf(life, environment);
            var stage = life.Environments[index];

            var missing = life.Environments.Take(index)
                .Where(e => e.RequiredToProgress && !history.Any(h => h.Environment == e.Name && h.State == PromotionState.Succeeded))
                .Select(e => e.Name)
                .ToList();
            if (missing.Count > 0)
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.Conflict,
                    $"Release '{version}' cannot go to '{stage.Name}' yet: it must first succeed in {string.Join(", ", missing.Select(m => $"'{m}'"))} (required to progress).");
            }

            if (history.FirstOrDefault(h => h.Environment == stage.Name && h.State is PromotionState.WaitingForApproval or PromotionState.Deploying) is { } open)
            {
                throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"Release '{version}' is already being promoted to '{stage.Name}' (promotion {open.Id}, {open.State}).");
            }

            record = new PromotionRecord
            {
                Id = string.Create(CultureInfo.InvariantCulture, $"promo-{Interlocked.Increment(ref _next)}"),
                Lifecycle = lifecycle,
                Version = version,
                Environment = stage.Name,
                State = PromotionState.WaitingForApproval,
                RequestedBy = actor,
                RequestedAt = _time.GetUtcNow(),
            };
            _history.Add(record);
            _completions[record.Id] = new TaskCompletionSource<PromotionRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        Log.PromotionChanged(_logger, record.Id, version, lifecycle, record.Environment, "requested");
        await AuditAsync(actor, "promotion.request", record.Id, "accepted", Data(record)).ConfigureAwait(false);
        var target = life.Environments.First(e => e.Name == record.Environment);
        return target.RequiredApprovals == 0 ? await StartDeployAsync(record, cancellationToken).ConfigureAwait(false) : record;
    }

    public async Task<PromotionRecord> ApproveAsync(string promotionId, string? comment = null, CancellationToken cancellationToken = default)
    {
        var actor = OrchestrationActor.Current.Id;
        PromotionRecord updated;
        bool ready;
        lock (_gate)
        {
            var record = Waiting(promotionId);
            var stage = GetLifecycle(record.Lifecycle).Environments.First(e => e.Name == record.Environment);
            if (stage.ApproverMustDifferFromRequester && string.Equals(actor, record.RequestedBy, StringComparison.Ordinal))
            {
                _ = AuditAsync(actor, "promotion.approve", promotionId, "refused", new() { ["reason"] = "the approver requested the promotion" }).AsTask();
                throw new OrchestrationException(OrchestrationErrorKind.Unauthorized, $"'{actor}' requested promotion {promotionId} and may not approve it; '{stage.Name}' needs another approver.");
            }

            updated = record.Approvals.Any(a => a.Actor == actor)
                ? record
                : record with { Approvals = [.. record.Approvals, new PromotionApproval(actor, comment, _time.GetUtcNow())] };
            ready = updated.Approvals.Count >= stage.RequiredApprovals;
            Replace(updated);
        }

        await AuditAsync(actor, "promotion.approve", promotionId, "approved", new(Data(updated)) { ["comment"] = comment, ["approvals"] = updated.Approvals.Count.ToString(CultureInfo.InvariantCulture) }).ConfigureAwait(false);
        return ready ? await StartDeployAsync(updated, cancellationToken).ConfigureAwait(false) : updated;
    }

    public async Task<PromotionRecord> RejectAsync(string promotionId, string? comment = null, CancellationToken cancellationToken = default)
    {
        var actor = OrchestrationActor.Current.Id;
        PromotionRecord updated;
        lock (_gate)
        {
            updated = Waiting(promotionId) with { State = PromotionState.Rejected, CompletedAt = _time.GetUtcNow(), Message = $"rejected by {actor}" + (string.IsNullOrWhiteSpace(comment) ? "" : $": {comment}") };
            Replace(updated);
        }

        await AuditAsync(actor, "promotion.reject", promotionId, "rejected", new(Data(updated)) { ["comment"] = comment }).ConfigureAwait(false);
        Complete(updated);
        return updated;
    }

    public IReadOnlyList<PromotionRecord> GetHistory(string lifecycle, string? version = null)
    {
        lock (_gate)
        {
            return [.. _history.Where(h => h.Lifecycle == lifecycle && (version is null || h.Version == version))];
        }
    }

    public Task<PromotionRecord> WaitForCompletionAsync(string promotionId, CancellationToken cancellationToken = default)
        => _completions.TryGetValue(promotionId, out var completion)
            ? completion.Task.WaitAsync(cancellationToken)
            : throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"No promotion has the id '{promotionId}'.");

    private async Task<PromotionRecord> StartDeployAsync(PromotionRecord record, CancellationToken cancellationToken)
    {
        var life = GetLifecycle(record.Lifecycle);
        var stage = life.Environments.First(e => e.Name == record.Environment);
        var template = _releases[(record.Lifecycle, record.Version)];
        var labels = new Dictionary<string, string>(template.Labels, StringComparer.Ordinal) { [ReleaseLabel] = record.Version };
        var spec = template with { Environment = stage.Name, Strategy = stage.Strategy ?? template.Strategy, Labels = labels };
        string deploymentId;
        int revision;
        try
        {
            var existing = (await _vm.ListAsync(new DeploymentQuery { Environment = stage.Name, AppId = spec.AppId }, cancellationToken).ConfigureAwait(false))
                .Deployments.FirstOrDefault(d => d.Name == spec.Name);
            if (existing is null)
            {
                deploymentId = await _vm.DeployAsync(spec, cancellationToken).ConfigureAwait(false);
                revision = 1;
            }
            else
            {
                deploymentId = existing.Id;
                revision = await _vm.UpdateAsync(existing.Id, spec, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OrchestrationException ex)
        {
            var failed = Update(record.Id, r => r with { State = PromotionState.Failed, CompletedAt = _time.GetUtcNow(), Message = ex.Message });
            await AuditAsync(OrchestrationActor.Current.Id, "promotion.deploy", record.Id, "failed", new(Data(failed)) { ["error"] = ex.Message }).ConfigureAwait(false);
            Complete(failed);
            return failed;
        }

        var deploying = Update(record.Id, r => r with { State = PromotionState.Deploying, DeploymentId = deploymentId, Revision = revision });
        Log.PromotionChanged(_logger, record.Id, record.Version, record.Lifecycle, record.Environment, "deploying");
        await AuditAsync(OrchestrationActor.Current.Id, "promotion.deploy", record.Id, "started", new(Data(deploying)) { ["deployment"] = deploymentId, ["revision"] = revision.ToString(CultureInfo.InvariantCulture) }).ConfigureAwait(false);
        _ = Task.Run(() => FollowAsync(deploying), CancellationToken.None);
        return deploying;
    }

    private async Task FollowAsync(PromotionRecord record)
    {
        try
        {
            var status = await _vm.WaitUntilSettledAsync(record.DeploymentId!).ConfigureAwait(false);
            var succeeded = status.State == DeploymentState.Running && status.StableRevision == record.Revision;
            var ended = Update(record.Id, r => r with
            {
                State = succeeded ? PromotionState.Succeeded : PromotionState.Failed,
                CompletedAt = _time.GetUtcNow(),
                Message = succeeded ? null : status.Message ?? $"the deployment ended {status.State}",
            });
            Log.PromotionChanged(_logger, record.Id, record.Version, record.Lifecycle, record.Environment, ended.State.ToString());
            await AuditAsync(OrchestrationActor.System.Id, "promotion.completed", record.Id, succeeded ? "succeeded" : "failed", Data(ended)).ConfigureAwait(false);
            if (succeeded)
            {
                await PromoteAutomaticallyAsync(ended).ConfigureAwait(false);
            }

            Complete(ended);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.PromotionFailed(_logger, ex, record.Id);
            var failed = Update(record.Id, r => r with { State = PromotionState.Failed, CompletedAt = _time.GetUtcNow(), Message = ex.Message });
            Complete(failed);
        }
    }

    private async Task PromoteAutomaticallyAsync(PromotionRecord succeeded)
    {
        var life = GetLifecycle(succeeded.Lifecycle);
        var index = IndexOf(life, succeeded.Environment);
        if (index + 1 >= life.Environments.Count || !life.Environments[index + 1].AutomaticDeployment)
        {
            return;
        }

        using (OrchestrationActor.BeginScope(OrchestrationActor.System))
        {
            await PromoteAsync(succeeded.Lifecycle, succeeded.Version, life.Environments[index + 1].Name).ConfigureAwait(false);
        }
    }

    private Lifecycle GetLifecycle(string name)
        => _lifecycles.TryGetValue(name, out var life)
            ? life
            : throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"No lifecycle is named '{name}' (configured: {string.Join(", ", _lifecycles.Keys)}); add it with AddPromotion(o => o.Lifecycles.Add(…)).");

    private static int IndexOf(Lifecycle life, string environment)
    {
        for (var i = 0; i < life.Environments.Count; i++)
        {
            if (life.Environments[i].Name == environment)
            {
                return i;
            }
        }

        throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"Lifecycle '{life.Name}' has no environment '{environment}' (environments: {string.Join(" -> ", life.Environments.Select(e => e.Name))}).");
    }

    private static int NextIndex(Lifecycle life, List<PromotionRecord> history)
    {
        var furthest = -1;
        for (var i = 0; i < life.Environments.Count; i++)
        {
            if (history.Any(h => h.Environment == life.Environments[i].Name && h.State == PromotionState.Succeeded))
            {
                furthest = i;
            }
        }

        return furthest + 1 < life.Environments.Count
            ? furthest + 1
            : throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"The release has succeeded in every environment of lifecycle '{life.Name}'; there is nothing to promote to.");
    }

    private PromotionRecord Waiting(string promotionId)
    {
        var record = _history.FirstOrDefault(h => h.Id == promotionId)
            ?? throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"No promotion has the id '{promotionId}'.");
        return record.State == PromotionState.WaitingForApproval
            ? record
            : throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"Promotion {promotionId} is {record.State}, not waiting for approval.");
    }

    private PromotionRecord Update(string id, Func<PromotionRecord, PromotionRecord> change)
    {
        lock (_gate)
        {
            var updated = change(_history.First(h => h.Id == id));
            Replace(updated);
            return updated;
        }
    }

    private void Replace(PromotionRecord record) => _history[_history.FindIndex(h => h.Id == record.Id)] = record;

    private void Complete(PromotionRecord record)
    {
        if (_completions.TryGetValue(record.Id, out var completion))
        {
            completion.TrySetResult(record);
        }
    }

    private static Dictionary<string, string?> Data(PromotionRecord record) => new(StringComparer.Ordinal)
    {
        ["lifecycle"] = record.Lifecycle,
        ["version"] = record.Version,
        ["environment"] = record.Environment,
        ["requested.by"] = record.RequestedBy,
        ["approvers"] = string.Join(",", record.Approvals.Select(a => a.Actor)),
    };

    private ValueTask AuditAsync(string actor, string action, string target, string outcome, Dictionary<string, string?> data)
        => _audit.AppendAsync(new AuditEvent(_time.GetUtcNow(), actor, action, target, outcome, data), CancellationToken.None);
}
