using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Telemetry;
using Bpi.Orchestration.State;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Security.Authorization;

/// <summary>
/// The Security package's <see cref="IOrchestrationAuthorizer"/>: the <see cref="AuthorizationPolicy"/> (RBAC with ABAC
/// conditions, deny overrides allow, default deny), narrowed by the spec's own access control, with every allowed
/// decision audited (the orchestrator audits denials) and counted.
/// </summary>
internal sealed class PolicyAuthorizer : IOrchestrationAuthorizer
{
    /// <summary>The rule name of a denial by the spec's own access control.</summary>
    public const string SpecAccessControlRule = "spec-access-control";

    private readonly AuthorizationPolicy _policy;
    private readonly AuthorizationOptions _options;
    private readonly SecurityAssessor _assessor;
    private readonly IDeploymentStore? _store;
    private readonly IAuditSink? _audit;
    private readonly TimeProvider _time;
    private readonly SecurityTelemetry _telemetry;
    private readonly ILogger _logger;

    public PolicyAuthorizer(AuthorizationOptions options, SecurityAssessor assessor, SecurityTelemetry telemetry, TimeProvider time, IDeploymentStore? store = null, IAuditSink? audit = null, ILogger? logger = null)
    {
        _options = options;
        _policy = options.BuildPolicy();
        _assessor = assessor;
        _telemetry = telemetry;
        _time = time;
        _store = store;
        _audit = audit;
        _logger = logger ?? NullLogger.Instance;
        if (!_policy.Rules.Any(r => r.Effect == PolicyEffect.Allow))
        {
            // Built when the orchestrator is (at host start, or first use): a policy that can only deny is said at once,
            // not discovered at the first refused operation.
            Log.PolicyDeniesEverything(_logger, _policy.Rules.Count);
        }
    }

    public AuthorizationPolicy Policy => _policy;

    public async ValueTask<AuthorizationDecision> AuthorizeAsync(AuthorizationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        DeploymentSpec? spec = request.Spec;
        var specLoaded = spec is not null;

        async ValueTask<DeploymentSpec?> SpecAsync(CancellationToken ct)
        {
            if (!specLoaded)
            {
                specLoaded = true;
                if (request.DeploymentId is not null && _store is not null)
                {
                    spec = (await _store.GetAsync(request.DeploymentId, ct).ConfigureAwait(false))?.CurrentSpec;
                }
            }

            return spec;
        }

        async ValueTask<double?> ScoreAsync(CancellationToken ct)
        {
            if (AuthorizationPolicy.AttributeScore(request) is { } given)
            {
                return given;
            }

            return await SpecAsync(ct).ConfigureAwait(false) is { } s ? (await _assessor.AssessAsync(s, ct).ConfigureAwait(false)).Score : null;
        }

        var decision = await _policy.DecideAsync(request, ScoreAsync, cancellationToken).ConfigureAwait(false);
        if (decision.Allowed && _options.EnforceSpecAccessControl && await SpecAsync(cancellationToken).ConfigureAwait(false) is { } target
            && SpecAccessDenial(target.Infrastructure.Security.AccessControl, request.Actor) is { } why)
        {
            decision = new AuthorizationDecision(false, SpecAccessControlRule, why);
        }

        _telemetry.RecordAuthorization(request.Verb, decision.Allowed);
        var targetName = request.DeploymentId ?? request.Spec?.Name ?? "(orchestrator)";
        Log.AuthorizationDecided(_logger, request.Actor.Id, request.Verb, targetName, decision.Allowed ? "allowed" : "denied", decision.Rule);
        if (decision.Allowed && _options.AuditAllowedDecisions && _audit is not null)
        {
            await _audit.AppendAsync(
                new AuditEvent(_time.GetUtcNow(), request.Actor.Id, "authorization." + request.Verb, targetName, "allowed", new Dictionary<string, string?>(StringComparer.Ordinal)
                {
                    ["rule"] = decision.Rule,
                    ["reason"] = decision.Reason,
                }),
                cancellationToken).ConfigureAwait(false);
        }

        return decision;
    }

    internal static string? SpecAccessDenial(AccessControlConfig access, OrchestrationActor actor)
    {
        if (access.Model == AccessControlModel.RoleBased && access.Roles.Count > 0 && !access.Roles.Any(r => actor.Roles.Contains(r, StringComparer.Ordinal)))
        {
            return $"the spec's access control allows only roles {string.Join(", ", access.Roles)}, and '{actor.Id}' holds {(actor.Roles.Count == 0 ? "none" : string.Join(", ", actor.Roles))}";
        }

        if (access.Model == AccessControlModel.AttributeBased)
        {
            foreach (var (name, value) in access.Attributes)
            {
                if (!actor.Attributes.TryGetValue(name, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
                {
                    return $"the spec's access control requires attribute {name}={value}, which '{actor.Id}' does not carry";
                }
            }
        }

        return null;
    }
}
