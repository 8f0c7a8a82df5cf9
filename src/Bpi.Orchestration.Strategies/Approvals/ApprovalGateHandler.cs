using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Health;
using Bpi.Orchestration.Strategies.Telemetry;

namespace Bpi.Orchestration.Strategies.Approvals;

/// <summary>Executes <see cref="AwaitApprovalStep"/> in place of Core's handler (registered with <c>ReplaceStepHandler</c>): manual gates through the VM's approve/reject, webhook gates by polling; escalation at the timeout; everything audited.</summary>
internal sealed class ApprovalGateHandler(IEnumerable<IGateNotifier> notifiers, StrategiesHttp http, IAuditSink audit, StrategiesTelemetry telemetry) : RolloutStepHandler<AwaitApprovalStep>
{
    private readonly IReadOnlyList<IGateNotifier> _notifiers = [.. notifiers];

    protected override async ValueTask ExecuteAsync(AwaitApprovalStep step, RolloutStepContext context, CancellationToken cancellationToken)
        => await HealthGuard.GuardAsync(
            context,
            async ct =>
            {
                if (step.Gate.Webhook is not null)
                {
                    await WebhookAsync(step.Gate, context, ct).ConfigureAwait(false);
                }
                else
                {
                    await ManualAsync(step.Gate, context, ct).ConfigureAwait(false);
                }

                return true;
            },
            cancellationToken).ConfigureAwait(false);

    private async Task ManualAsync(ApprovalGate gate, RolloutStepContext context, CancellationToken cancellationToken)
    {
        var requester = context.RequestedBy;
        var options = new ApprovalWaitOptions
        {
            RequiredApprovals = gate.RequiredApprovals,
            Timeout = gate.Timeout,
            ApproverCheck = gate.ApproverMustDifferFromRequester
                ? actor =>
                {
                    if (!string.Equals(actor, requester, StringComparison.Ordinal))
                    {
                        return null;
                    }

                    _ = AuditAsync(context, actor, "approval.refused", "refused", gate, new() { ["reason"] = "the approver requested the rollout" }).AsTask();
                    return $"the rollout was requested by '{requester}', and gate '{gate.Name}' needs an approver other than the requester";
                }
                : null,
        };
        var waited = TimeSpan.Zero;
        while (true)
        {
            var result = await context.WaitForApprovalAsync(gate.Name, options, cancellationToken).ConfigureAwait(false);
            switch (result.Outcome)
            {
                case ApprovalOutcome.Approved:
                    telemetry.RecordGate("approved");
                    await AuditAsync(context, OrchestrationActor.System.Id, "approval.gate", "approved", gate, new() { ["approvers"] = string.Join(",", result.Approvers), ["comment"] = result.Detail }).ConfigureAwait(false);
                    return;
                case ApprovalOutcome.Rejected:
                    telemetry.RecordGate("rejected");
                    await AuditAsync(context, OrchestrationActor.System.Id, "approval.gate", "rejected", gate, new() { ["detail"] = result.Detail }).ConfigureAwait(false);
                    throw new OrchestrationException(OrchestrationErrorKind.DeploymentFailed, $"Approval gate '{gate.Name}' was {result.Detail}.");
            }

            waited += gate.Timeout ?? TimeSpan.Zero;
            Log.GateEscalated(context.Logger, context.DeploymentId, gate.Name, gate.Escalation.ToString(), waited);
            var approvers = string.Join(",", result.Approvers);
            switch (gate.Escalation)
            {
                case GateEscalation.Approve:
                    telemetry.RecordGate("escalated-approved");
                    await AuditAsync(context, OrchestrationActor.System.Id, "approval.escalated", "approved", gate, new() { ["approvers"] = approvers, ["waited"] = waited.ToString() }).ConfigureAwait(false);
                    context.ReportProgress($"gate '{gate.Name}' approved by escalation after {waited}");
                    return;
                case GateEscalation.NotifyAndWait:
                    await AuditAsync(context, OrchestrationActor.System.Id, "approval.escalated", "notified", gate, new() { ["approvers"] = approvers, ["waited"] = waited.ToString() }).ConfigureAwait(false);
                    foreach (var notifier in _notifiers)
                    {
                        await notifier.NotifyAsync(new GateNotification(context.DeploymentId, gate.Name, waited, result.Approvers, requester), cancellationToken).ConfigureAwait(false);
                    }

                    context.ReportProgress($"gate '{gate.Name}' still waiting after {waited}; notified");
                    options = options with { ApprovedBy = result.Approvers };
                    continue;
                default:
                    telemetry.RecordGate("escalated-rejected");
                    await AuditAsync(context, OrchestrationActor.System.Id, "approval.escalated", "rejected", gate, new() { ["approvers"] = approvers, ["waited"] = waited.ToString() }).ConfigureAwait(false);
                    throw new OrchestrationException(OrchestrationErrorKind.Timeout, $"Approval gate '{gate.Name}' was not approved within {waited} ({result.Approvers.Count} of {gate.RequiredApprovals} approvals); the rollout is rolled back.");
            }
        }
    }

    private async Task WebhookAsync(ApprovalGate gate, RolloutStepContext context, CancellationToken cancellationToken)
    {
        var time = context.TimeProvider;
        var started = time.GetTimestamp();
        var body = Payload(gate, context);
        context.ReportProgress($"asking webhook gate '{gate.Name}'");
        while (true)
        {
            string status;
            using (var timeout = StrategiesHttp.NetworkTimeout(TimeSpan.FromSeconds(30)))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
            {
                try
                {
                    using var content = new ByteArrayContent(body);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    using var response = await http.Client.PostAsync(gate.Webhook, content, linked.Token).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        telemetry.RecordGate("approved");
                        await AuditAsync(context, "webhook:" + gate.Webhook!.GetLeftPart(UriPartial.Path), "approval.gate", "approved", gate, new() { ["status"] = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture) }).ConfigureAwait(false);
                        return;
                    }

                    status = string.Create(CultureInfo.InvariantCulture, $"{(int)response.StatusCode} {response.ReasonPhrase}");
                }
                catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    status = ex.Message;
                }
            }

            Log.WebhookGateWaiting(context.Logger, context.DeploymentId, gate.Name, status);
            if (gate.Timeout is { } limit && time.GetElapsedTime(started) + gate.WebhookInterval > limit)
            {
                if (gate.Escalation == GateEscalation.Approve)
                {
                    telemetry.RecordGate("escalated-approved");
                    await AuditAsync(context, OrchestrationActor.System.Id, "approval.escalated", "approved", gate, new() { ["last"] = status }).ConfigureAwait(false);
                    return;
                }

                telemetry.RecordGate("escalated-rejected");
                await AuditAsync(context, OrchestrationActor.System.Id, "approval.escalated", "rejected", gate, new() { ["last"] = status }).ConfigureAwait(false);
                throw new OrchestrationException(OrchestrationErrorKind.Timeout, $"Webhook gate '{gate.Name}' did not answer 2xx within {limit} (last answer: {status}); the rollout is rolled back.");
            }

            await Task.Delay(gate.WebhookInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private ValueTask AuditAsync(RolloutStepContext context, string actor, string action, string outcome, ApprovalGate gate, Dictionary<string, string?> data)
    {
        data["gate"] = gate.Name;
        data["requested.by"] = context.RequestedBy;
        return audit.AppendAsync(new AuditEvent(context.TimeProvider.GetUtcNow(), actor, action, context.DeploymentId, outcome, data), CancellationToken.None);
    }

    private static byte[] Payload(ApprovalGate gate, RolloutStepContext context)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("gate", gate.Name);
            json.WriteString("deploymentId", context.DeploymentId);
            if (context.Plan is { } plan)
            {
                if (plan.FromRevision is { } from)
                {
                    json.WriteNumber("fromRevision", from);
                }

                json.WriteNumber("toRevision", plan.ToRevision);
            }

            json.WriteString("requestedBy", context.RequestedBy);
            json.WriteEndObject();
        }

        return stream.ToArray();
    }
}
