namespace Bpi.Orchestration.Ownership;

/// <summary>
/// A command on a deployment (pause, resume, abort, promote, approve, reject, scale, destroy) received by an orchestrator
/// instance that does not own the deployment: <see cref="IDeploymentOwnership.SendToOwnerAsync"/> hands it to the owner,
/// which runs it as <see cref="Actor"/> (authorized there, as if it had been received there) and reports the outcome.
/// </summary>
public sealed record DeploymentCommand
{
    /// <summary>The deployment the command acts on.</summary>
    public required string DeploymentId { get; init; }

    /// <summary>What to do: <c>pause</c>, <c>resume</c>, <c>abort</c>, <c>promote</c>, <c>approve</c>, <c>reject</c>, <c>scale</c> or <c>destroy</c>.</summary>
    public required string Verb { get; init; }

    /// <summary>The command's arguments by name (<c>gate</c> and <c>comment</c> for approve and reject, <c>replicas</c> and <c>component</c> for scale, <c>force</c> for destroy).</summary>
    public IReadOnlyDictionary<string, string?> Arguments { get; init; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>Who sent the command; the owner authorizes and audits it as this actor.</summary>
    public required OrchestrationActor Actor { get; init; }

    /// <summary>Identifies the command: a command sent again with the same key (a retry) runs once and reports the first outcome.</summary>
    /// <value>The default value is a fresh random key.</value>
    public string IdempotencyKey { get; init; } = Guid.NewGuid().ToString("N");
}
