namespace Bpi.Orchestration.Security;

/// <summary>
/// Decides whether an actor may perform an operation. The VM asks it before every operation and audits each
/// decision. Core's default allows everything; the Security package replaces it with RBAC/ABAC policies (default deny).
/// </summary>
public interface IOrchestrationAuthorizer
{
    /// <summary>Decides on one request.</summary>
    /// <param name="request">Who wants to do what to which deployment.</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    /// <returns>The decision, with the rule that decided.</returns>
    ValueTask<AuthorizationDecision> AuthorizeAsync(AuthorizationRequest request, CancellationToken cancellationToken = default);
}

/// <summary>A request to authorize.</summary>
/// <param name="Actor">Who.</param>
/// <param name="Verb">What: <c>deploy</c>, <c>update</c>, <c>scale</c>, <c>rollback</c>, <c>pause</c>, <c>resume</c>, <c>abort</c>, <c>promote</c>, <c>approve</c>, <c>destroy</c> or <c>read</c> (see <see cref="OrchestrationVerbs"/>).</param>
/// <param name="Environment">The environment of the deployment concerned, or <see langword="null"/> for VM-wide reads.</param>
/// <param name="AppId">The application concerned, or <see langword="null"/>.</param>
/// <param name="DeploymentId">The deployment concerned, or <see langword="null"/> (for example before it exists).</param>
/// <param name="Spec">The spec being deployed or applied, when there is one.</param>
public sealed record AuthorizationRequest(
    OrchestrationActor Actor,
    string Verb,
    string? Environment,
    string? AppId,
    string? DeploymentId,
    DeploymentSpec? Spec = null)
{
    /// <summary>Further facts for attribute conditions, for example <c>requester</c> for approvals or <c>securityScore</c>.</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;
}

/// <summary>The outcome of an authorization.</summary>
/// <param name="Allowed">Whether the operation may go ahead.</param>
/// <param name="Rule">The rule (or default) that decided.</param>
/// <param name="Reason">Why, in a sentence fit for an error message.</param>
public sealed record AuthorizationDecision(bool Allowed, string Rule, string Reason)
{
    /// <summary>The decision of Core's default authorizer.</summary>
    public static AuthorizationDecision AllowAll { get; } = new(true, "default-allow", "no authorizer is configured, so every operation is allowed");
}

/// <summary>The verbs the VM authorizes.</summary>
public static class OrchestrationVerbs
{
    /// <summary>Create a deployment.</summary>
    public const string Deploy = "deploy";

    /// <summary>Roll out a new revision.</summary>
    public const string Update = "update";

    /// <summary>Change replica counts.</summary>
    public const string Scale = "scale";

    /// <summary>Roll back to an earlier revision.</summary>
    public const string Rollback = "rollback";

    /// <summary>Pause a rollout.</summary>
    public const string Pause = "pause";

    /// <summary>Resume a rollout.</summary>
    public const string Resume = "resume";

    /// <summary>Abort a rollout.</summary>
    public const string Abort = "abort";

    /// <summary>Promote a paused rollout past its pause.</summary>
    public const string Promote = "promote";

    /// <summary>Approve or reject an approval gate.</summary>
    public const string Approve = "approve";

    /// <summary>Destroy a deployment.</summary>
    public const string Destroy = "destroy";

    /// <summary>Read status, lists and events.</summary>
    public const string Read = "read";
}
