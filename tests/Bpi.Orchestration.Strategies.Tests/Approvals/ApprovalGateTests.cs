using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Approvals;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Tests.Canary;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Approvals;

public sealed class ApprovalGateTests
{
    private static readonly OrchestrationActor Alice = new() { Id = "alice" };
    private static readonly OrchestrationActor Bob = new() { Id = "bob" };
    private static readonly OrchestrationActor Carol = new() { Id = "carol" };

    private static DeploymentSpec Gated(ApprovalGate gate, string image = "web:2")
        => Specs.Web(2, image, new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(50), new CanaryStep.Approval(gate)] });

    [Fact]
    public async Task A_gate_that_times_out_with_reject_escalation_rolls_back()
    {
        await using var host = CanaryRolloutTests.NewHost();
        var id = await DeployedAsync(host);

        await host.Vm.UpdateAsync(id, Gated(new ApprovalGate { Name = "prod", Timeout = TimeSpan.FromHours(1), Escalation = GateEscalation.Reject }));
        var status = await host.SettleAsync(id, TimeSpan.FromMinutes(10));

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("was not approved within 01:00:00 (0 of 1 approvals)", status.Message, StringComparison.Ordinal);
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "approval.escalated" && e.Outcome == "rejected");
    }

    [Fact]
    public async Task A_gate_that_times_out_with_approve_escalation_continues_and_audits_it()
    {
        await using var host = CanaryRolloutTests.NewHost();
        var id = await DeployedAsync(host);

        await host.Vm.UpdateAsync(id, Gated(new ApprovalGate { Name = "prod", Timeout = TimeSpan.FromHours(1), Escalation = GateEscalation.Approve }));
        var status = await host.SettleAsync(id, TimeSpan.FromMinutes(10));

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "approval.escalated" && e.Outcome == "approved" && e.Actor == "system");
    }

    [Fact]
    public async Task Notify_escalation_notifies_keeps_waiting_and_keeps_the_approvals_already_given()
    {
        var notifier = new RecordingNotifier();
        await using var host = CanaryRolloutTests.NewHost(extra: b => b.AddGateNotifier(notifier));
        var id = await DeployedAsync(host);
        await host.Vm.UpdateAsync(id, Gated(new ApprovalGate { Name = "prod", RequiredApprovals = 2, Timeout = TimeSpan.FromHours(1), Escalation = GateEscalation.NotifyAndWait }));
        await host.DriveAsync(host.WaitForStateAsync(id, DeploymentState.Paused));

        using (OrchestrationActor.BeginScope(Alice))
        {
            await host.Vm.ApproveAsync(id, "prod", "fine by me");
        }

        await host.Clock.WaitForTimersAsync(1, TestHost.Timeout());
        host.Clock.Advance(TimeSpan.FromHours(1));
        await notifier.Notified.Task.WaitAsync(TestHost.Timeout());
        await WaitUntilGateWaitsAsync(host, id);
        var afterEscalation = await host.Vm.GetStatusAsync(id);
        using (OrchestrationActor.BeginScope(Bob))
        {
            await host.Vm.ApproveAsync(id, "prod");
        }

        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Paused, afterEscalation.State);
        Assert.Equal(["alice"], notifier.Notifications[0].ApprovedBy);
        Assert.Equal(DeploymentState.Running, status.State);
        var decision = host.Audit.Snapshot().Last(e => e.Action == "approval.gate");
        Assert.Equal("approved", decision.Outcome);
        Assert.Equal("alice,bob", decision.Data!["approvers"]);
    }

    [Fact]
    public async Task The_requester_may_not_approve_a_four_eyes_gate()
    {
        await using var host = CanaryRolloutTests.NewHost();
        var id = await DeployedAsync(host);
        using (OrchestrationActor.BeginScope(Carol))
        {
            await host.Vm.UpdateAsync(id, Gated(new ApprovalGate { Name = "prod", ApproverMustDifferFromRequester = true }));
        }

        await host.DriveAsync(host.WaitForStateAsync(id, DeploymentState.Paused));
        OrchestrationException refused;
        using (OrchestrationActor.BeginScope(Carol))
        {
            refused = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.ApproveAsync(id, "prod"));
        }

        using (OrchestrationActor.BeginScope(Alice))
        {
            await host.Vm.ApproveAsync(id, "prod", "checked the dashboards");
        }

        var status = await host.SettleAsync(id);
        Assert.Equal(OrchestrationErrorKind.Unauthorized, refused.Kind);
        Assert.Contains("needs an approver other than the requester", refused.Message, StringComparison.Ordinal);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "approval.refused" && e.Actor == "carol");
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "approval.approve" && e.Actor == "alice" && e.Data!["comment"] == "checked the dashboards");
    }

    [Fact]
    public async Task A_webhook_gate_waits_until_the_webhook_answers_2xx()
    {
        var calls = 0;
        using var server = new LoopbackHttpServer((_, body) => (Interlocked.Increment(ref calls) < 3 ? 503 : 200, ""));
        await using var host = CanaryRolloutTests.NewHost();
        var id = await DeployedAsync(host);

        await host.Vm.UpdateAsync(id, Gated(new ApprovalGate { Name = "confirm", Webhook = server.Url, WebhookInterval = TimeSpan.FromSeconds(10) }));
        var status = await host.SettleAsync(id, TimeSpan.FromSeconds(10));

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(3, server.Paths.Count);
        Assert.Contains("\"gate\":\"confirm\"", server.Bodies[0], StringComparison.Ordinal);
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "approval.gate" && e.Outcome == "approved" && e.Actor.StartsWith("webhook:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_webhook_gate_that_never_answers_2xx_times_out_and_rolls_back()
    {
        using var server = new LoopbackHttpServer(_ => 403);
        await using var host = CanaryRolloutTests.NewHost();
        var id = await DeployedAsync(host);

        await host.Vm.UpdateAsync(id, Gated(new ApprovalGate { Name = "confirm", Webhook = server.Url, WebhookInterval = TimeSpan.FromSeconds(10), Timeout = TimeSpan.FromMinutes(1) }));
        var status = await host.SettleAsync(id, TimeSpan.FromSeconds(10));

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("did not answer 2xx within 00:01:00 (last answer: 403 Forbidden)", status.Message, StringComparison.Ordinal);
    }

    private static async Task<string> DeployedAsync(TestHost host)
    {
        var id = await host.Vm.DeployAsync(Gated(new ApprovalGate { Name = "unused" }, "web:1"));
        await host.SettleAsync(id);
        return id;
    }

    private static async Task WaitUntilGateWaitsAsync(TestHost host, string id)
    {
        // After the escalation the gate waits again: approving succeeds once it does.
        for (var i = 0; i < 1000; i++)
        {
            if (host.Audit.Snapshot().Any(e => e.Action == "approval.escalated") && (await host.Vm.GetStatusAsync(id)).State == DeploymentState.Paused)
            {
                await host.Clock.WaitForTimersAsync(1, TestHost.Timeout());
                return;
            }

            await Task.Yield();
        }
    }

    private sealed class RecordingNotifier : IGateNotifier
    {
        public List<GateNotification> Notifications { get; } = [];

        public TaskCompletionSource Notified { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask NotifyAsync(GateNotification notification, CancellationToken cancellationToken = default)
        {
            Notifications.Add(notification);
            Notified.TrySetResult();
            return ValueTask.CompletedTask;
        }
    }
}
