using System.Globalization;
using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Strategies.Approvals;

/// <summary>
/// An approval gate: the rollout waits until <see cref="RequiredApprovals"/> distinct people approve through
/// <see cref="IOrchestrationVm.ApproveAsync"/> (any rejection fails it), or — with a <see cref="Webhook"/> — until the
/// webhook answers a POST with 2xx (as Flagger's confirm-rollout). On <see cref="Timeout"/> the
/// <see cref="Escalation"/> decides. Every decision, escalation and refusal is an audit event.
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

        foreach (var problem in DurationLimit.Check(($"{at}.timeout", Timeout), ($"{at}.webhookInterval", WebhookInterval)))
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

    /// <summary>Notify (through the registered <see cref="IGateNotifier"/>s) and keep waiting; notifies again after each further timeout.</summary>
    NotifyAndWait,
}

/// <summary>Told when an approval gate escalates with <see cref="GateEscalation.NotifyAndWait"/> (for example to page someone). Register with <c>builder.AddGateNotifier&lt;T&gt;()</c>.</summary>
public interface IGateNotifier
{
    /// <summary>Notifies that a gate has waited past its timeout.</summary>
    /// <param name="notification">The deployment, gate and who approved so far.</param>
    /// <param name="cancellationToken">Cancels the notification.</param>
    /// <returns>A task that completes when notified.</returns>
    ValueTask NotifyAsync(GateNotification notification, CancellationToken cancellationToken = default);
}

/// <summary>An approval gate waiting past its timeout.</summary>
/// <param name="DeploymentId">The deployment.</param>
/// <param name="Gate">The gate.</param>
/// <param name="Waited">How long it has waited.</param>
/// <param name="ApprovedBy">Who approved so far.</param>
/// <param name="RequestedBy">Who requested the rollout.</param>
public sealed record GateNotification(string DeploymentId, string Gate, TimeSpan Waited, IReadOnlyList<string> ApprovedBy, string RequestedBy);

/// <summary>Waits at an approval gate (manual or webhook).</summary>
/// <param name="Gate">The gate.</param>
public sealed record ApprovalGateStep(ApprovalGate Gate) : RolloutStep
{
    /// <inheritdoc />
    public override string Kind => "approval-gate";

    /// <inheritdoc />
    public override string Describe() => Gate.Webhook is { } url
        ? $"wait for webhook gate '{Gate.Name}' ({url.GetLeftPart(UriPartial.Path)}) to answer 2xx"
        : string.Create(CultureInfo.InvariantCulture, $"wait for {Gate.RequiredApprovals} approval{(Gate.RequiredApprovals == 1 ? "" : "s")} of gate '{Gate.Name}'")
          + (Gate.ApproverMustDifferFromRequester ? " (not the requester)" : "")
          + (Gate.Timeout is { } t ? string.Create(CultureInfo.InvariantCulture, $", escalating ({Gate.Escalation}) after {t}") : "");
}
