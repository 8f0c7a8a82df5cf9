using Bpi.Orchestration.State;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Recording;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration.Admission;

/// <summary>
/// What every operation passes first: the orchestrator is started (started on first use), the deployment exists, and
/// the ambient actor may perform the verb. A denial is logged, audited and thrown as
/// <see cref="OrchestrationErrorKind.Unauthorized"/>. On the common path (started, the default authorizer) every check
/// answers synchronously: no state machines.
/// </summary>
internal sealed partial class OperationGate(IOrchestrationAuthorizer authorizer, DeploymentRegistry registry, DeploymentRecorder recorder, Func<CancellationToken, ValueTask> ensureStarted)
{
    public ValueTask EnsureStartedAsync(CancellationToken cancellationToken) => ensureStarted(cancellationToken);

    /// <summary>Starts the orchestrator if needed, finds the deployment and authorizes <paramref name="verb"/> on it.</summary>
    public ValueTask<DeploymentEntry> GetEntryAsync(string deploymentId, string verb, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        DeploymentIds.ThrowIfInvalid(deploymentId);
        var started = ensureStarted(cancellationToken);
        if (!started.IsCompletedSuccessfully)
        {
            return GetEntrySlowAsync(started, deploymentId, verb, cancellationToken);
        }

        var entry = registry.Find(deploymentId);
        var spec = entry.Record.CurrentSpec;
        var authorized = AuthorizeAsync(verb, spec.Environment, spec.AppId, deploymentId, null, cancellationToken);
        return authorized.IsCompletedSuccessfully ? new ValueTask<DeploymentEntry>(entry) : AwaitAuthorizedAsync(authorized, entry);

        static async ValueTask<DeploymentEntry> AwaitAuthorizedAsync(ValueTask<AuthorizationDecision> authorized, DeploymentEntry entry)
        {
            await authorized.ConfigureAwait(false);
            return entry;
        }
    }

    /// <summary>As <see cref="GetEntryAsync"/>, for an intervention: the deployment must have a plan queued or running.</summary>
    public async Task<(DeploymentEntry Entry, RolloutWork Work)> GetActiveWorkAsync(string deploymentId, string verb, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? attributes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        DeploymentIds.ThrowIfInvalid(deploymentId);
        await ensureStarted(cancellationToken).ConfigureAwait(false);
        var entry = registry.Find(deploymentId);
        var spec = entry.Record.CurrentSpec;
        await AuthorizeAsync(verb, spec.Environment, spec.AppId, deploymentId, null, cancellationToken, attributes).ConfigureAwait(false);
        var work = entry.Work;
        if (work is null || work.Control.IsAborted)
        {
            throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"Deployment '{deploymentId}' has no rollout queued or running (it is {entry.Record.State}); there is nothing to {verb}.");
        }

        return (entry, work);
    }

    public ValueTask<AuthorizationDecision> AuthorizeAsync(string verb, string? environment, string? appId, string? deploymentId, DeploymentSpec? spec, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? attributes = null)
        => authorizer is Microsoft.Extensions.DependencyInjection.AllowAllAuthorizer
            ? new ValueTask<AuthorizationDecision>(AuthorizationDecision.AllowAll) // the default allows everything: no request to build
            : AuthorizeCoreAsync(verb, environment, appId, deploymentId, spec, attributes, cancellationToken);

    private async ValueTask<DeploymentEntry> GetEntrySlowAsync(ValueTask started, string deploymentId, string verb, CancellationToken cancellationToken)
    {
        await started.ConfigureAwait(false);
        var entry = registry.Find(deploymentId);
        var spec = entry.Record.CurrentSpec;
        await AuthorizeAsync(verb, spec.Environment, spec.AppId, deploymentId, null, cancellationToken).ConfigureAwait(false);
        return entry;
    }

    private async ValueTask<AuthorizationDecision> AuthorizeCoreAsync(string verb, string? environment, string? appId, string? deploymentId, DeploymentSpec? spec, IReadOnlyDictionary<string, string>? attributes, CancellationToken cancellationToken)
    {
        var actor = OrchestrationActor.Current;
        var request = attributes is null
            ? new AuthorizationRequest(actor, verb, environment, appId, deploymentId, spec)
            : new AuthorizationRequest(actor, verb, environment, appId, deploymentId, spec) { Attributes = attributes };
        var decision = await authorizer.AuthorizeAsync(request, cancellationToken).ConfigureAwait(false);
        if (!decision.Allowed)
        {
            var target = deploymentId ?? spec?.Name ?? "(orchestrator)";
            Log.Denied(recorder.Logger, verb, target, actor.Id, decision.Rule);
            await recorder.AuditAsync(actor.Id, "authorization." + verb, target, "denied", new AuditData([new("rule", decision.Rule), new("reason", decision.Reason)])).ConfigureAwait(false);
            throw new OrchestrationException(OrchestrationErrorKind.Unauthorized, $"'{actor.Id}' may not {verb} {target}: {decision.Reason} (rule {decision.Rule}).");
        }

        return decision;
    }
}
