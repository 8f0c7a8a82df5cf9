using System.Globalization;

namespace Bpi.Orchestration.Rollout;

/// <summary>
/// An approval gate: the rollout waits until <see cref="RequiredApprovals"/> distinct people approve through
/// <see cref="IOrchestrationVm.ApproveAsync"/> (any rejection fails it), or — with a <see cref="Webhook"/> — until the
/// webhook answers a POST with 2xx (as Flagger's confirm-rollout). On <see cref="Timeout"/> the
/// <see cref="Escalation"/> decides. Core runs manual gates that reject at the timeout; the Strategies package runs
/// every gate (webhooks, escalation, notifiers) and makes each decision, escalation and refusal an audit event.
/// </summary>
public sealed record ApprovalGate
{
    /// <summary>The gate's name, used when approving.</summary>
    public required string Name { get; init; }

    /// <summary>How many distinct approvers are needed.</summary>
    /// <value>The default value is 1.</value>
    public int RequiredApprovals { get; init; } = 1;

    /// <summary>Whether the actor who requested the rollout may not approve it (four-eyes principle).</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ApproverMustDifferFromRequester { get; init; }

    /// <summary>How long to wait before escalating; <see langword="null"/> waits indefinitely.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? Timeout { get; init; }

    /// <summary>What happens at the timeout.</summary>
    /// <value>The default value is <see cref="GateEscalation.Reject"/>.</value>
    public GateEscalation Escalation { get; init; } = GateEscalation.Reject;

    /// <summary>A webhook gate: POSTed at <see cref="WebhookInterval"/> until it answers 2xx; <see langword="null"/> for a manual gate.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Uri? Webhook { get; init; }

    /// <summary>How often a webhook gate asks again.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan WebhookInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks the gate and lists every problem.</summary>
    /// <param name="at">The field name to prefix problems with.</param>
    /// <returns>The problems.</returns>
    public IEnumerable<string> Validate(string at)
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            yield return $"{at}.name: is required.";
        }

        if (RequiredApprovals < 1)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{at}.requiredApprovals: {RequiredApprovals} must be at least 1.");
        }

        if (Timeout is { } t && t <= TimeSpan.Zero)
        {
            yield return $"{at}.timeout: must be greater than zero.";
        }

        if (Webhook is not null && (!Webhook.IsAbsoluteUri || (Webhook.Scheme != Uri.UriSchemeHttp && Webhook.Scheme != Uri.UriSchemeHttps)))
        {
            yield return $"{at}.webhook: '{Webhook}' must be an absolute http or https URL.";
        }

        if (WebhookInterval <= TimeSpan.Zero)
        {
            yield return $"{at}.webhookInterval: must be greater than zero.";
        }

        foreach (var problem in DeploymentSpec.CheckDurations(($"{at}.timeout", Timeout), ($"{at}.webhookInterval", WebhookInterval)))
        {
            yield return problem;
        }
    }
}

/// <summary>What an approval gate does when nobody decided in time.</summary>
public enum GateEscalation
{
    /// <summary>Reject: the rollout fails and is rolled back.</summary>
    Reject = 0,

    /// <summary>Approve on behalf of the system (audited as an escalation) and continue.</summary>
    Approve,

    /// <summary>Notify (through the Strategies package's registered gate notifiers) and keep waiting; notifies again after each further timeout.</summary>
    NotifyAndWait,
}
