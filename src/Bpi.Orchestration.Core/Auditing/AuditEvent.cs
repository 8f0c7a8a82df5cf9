namespace Bpi.Orchestration.Auditing;

/// <summary>One entry of the audit trail: who did what to which target, when, and with what outcome.</summary>
/// <param name="Timestamp">When it happened, from the orchestrator's <see cref="TimeProvider"/>.</param>
/// <param name="Actor">The acting identity (<see cref="OrchestrationActor.Id"/>); <c>system</c> for the orchestrator itself.</param>
/// <param name="Action">What was done, lowercase and dotted, for example <c>deployment.create</c> or <c>rollout.step.completed</c>.</param>
/// <param name="Target">What it was done to, usually a deployment id.</param>
/// <param name="Outcome">How it ended: <c>succeeded</c>, <c>failed</c>, <c>denied</c>, <c>started</c> and so on.</param>
/// <param name="Data">Further detail as name/value pairs; never holds a secret value.</param>
public sealed record AuditEvent(
    DateTimeOffset Timestamp,
    string Actor,
    string Action,
    string Target,
    string Outcome,
    IReadOnlyDictionary<string, string?>? Data = null);
