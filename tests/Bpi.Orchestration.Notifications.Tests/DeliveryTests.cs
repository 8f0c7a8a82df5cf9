using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Canary;

namespace Bpi.Orchestration.Notifications.Tests;

/// <summary>Rules on the VM's events delivered to a real loopback receiver that checks every signature (issue #20).</summary>
public sealed class DeliveryTests
{
    private static readonly Dictionary<string, string> Secrets = new()
    {
        ["/webhook"] = "webhook-secret-0123456789",
        ["/cloudevents"] = "cloudevents-secret-0123456789",
        ["/slack"] = "slack-secret-0123456789",
        ["/teams"] = "teams-secret-0123456789",
    };

    [Fact]
    public async Task Every_trigger_reaches_each_channel_kind_once_with_a_valid_signature()
    {
        using var receiver = new SigningReceiver(Secrets);
        await using var host = new NotificationsHost(o =>
        {
            Add(o, "hook-all", NotificationChannelKind.Webhook, receiver, "/webhook");
            Add(o, "ce-all", NotificationChannelKind.CloudEvents, receiver, "/cloudevents");
            Add(o, "slack-all", NotificationChannelKind.Slack, receiver, "/slack");
            Add(o, "teams-all", NotificationChannelKind.Teams, receiver, "/teams");
            var rule = new NotificationRule { Name = "everything" };
            foreach (var c in new[] { "hook-all", "ce-all", "slack-all", "teams-all" })
            {
                rule.Channels.Add(c);
            }

            o.Rules.Add(rule);
        });
        await host.StartNotifierAsync();
        var vm = host.Vm;

        // Rollout started and promoted (web r1), then started again and waiting for approval (web r2); rejected: failed, rolled back.
        var web = await vm.DeployAsync(Specs.Web(1, name: "web"));
        await host.SettleAsync(web);
        await vm.UpdateAsync(web, Specs.Web(1, "web:2", name: "web", strategy: new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(50), new CanaryStep.Approval(new ApprovalGate { Name = "prod" })] }));
        await host.Clock.RunUntilAsync(vm.WaitForStateAsync(web, s => s == DeploymentState.Paused, NotificationsHost.Timeout()), cancellationToken: NotificationsHost.Timeout());
        await vm.RejectAsync(web, "prod", "not today");
        Assert.Equal(DeploymentState.RolledBack, (await host.SettleAsync(web)).State);

        // The security gate refuses a new deployment.
        var refused = await Assert.ThrowsAsync<OrchestrationException>(() => vm.DeployAsync(Specs.Web(1, "evil:1", name: "intruder")));
        Assert.Equal(OrchestrationErrorKind.SecurityValidationFailed, refused.Kind);

        // An instance that keeps failing: replaced at once the first time, backed off the second (crash-looping).
        var api = await vm.DeployAsync(Specs.Web(1, name: "api"));
        await host.SettleAsync(api);
        var first = Instances(host, api).Single();
        host.Runtime.Faults.Kill(first.InstanceId, exitCode: 2);
        var second = await Eventually.UntilAsync(() => Task.FromResult(Instances(host, api)), l => l.Count == 1 && l[0].InstanceId != first.InstanceId && l[0].State == InstanceState.Running, "the killed instance is replaced");
        host.Runtime.Faults.Kill(second[0].InstanceId, exitCode: 2);
        await Eventually.UntilAsync(() => vm.GetStatusAsync(api), s => s.Healing == HealingState.CrashLoopBackOff, "api backs off");

        // A host reports a failed audit verification.
        vm.ReportAuditVerificationFailed("ChainBroken: entry 7's previous hash does not match entry 6");

        var expected = new Dictionary<string, int>
        {
            ["rollout.started"] = 3, // web r1, web r2, api r1
            ["rollout.promoted"] = 2, // web r1, api r1
            ["approval.waiting"] = 1,
            ["rollout.failed"] = 1,
            ["rollout.rolled-back"] = 1,
            ["security.gate-refused"] = 1,
            ["instance.crash-looping"] = 1,
            ["audit.verification-failed"] = 1,
        };
        var total = expected.Values.Sum();
        await Eventually.UntilAsync(() => receiver.Received.Count >= total * 4 && host.Deliveries("teams-all", "delivered") == total, "every notification reaches every channel");

        var received = receiver.Received;
        Assert.All(received, r => Assert.True(r.SignatureValid, $"{r.Path}: the signature does not match the body"));
        var webhook = received.Where(r => r.Path == "/webhook").ToList();
        var triggerOf = webhook.ToDictionary(r => r.NotificationId!, r => r.Json.GetProperty("trigger").GetString()!);
        foreach (var path in Secrets.Keys)
        {
            var counts = received.Where(r => r.Path == path).GroupBy(r => triggerOf[r.NotificationId!]).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(expected.OrderBy(p => p.Key), counts.OrderBy(p => p.Key));
        }

        Assert.Equal(total * 4, received.Count);
        foreach (var channel in new[] { "hook-all", "ce-all", "slack-all", "teams-all" })
        {
            Assert.Equal(total, host.Deliveries(channel, "delivered"));
            Assert.Equal(0, host.Deliveries(channel, "failed"));
        }

        // Webhook URLs (Slack's and Teams' carry their secret) and secrets are never logged.
        Assert.DoesNotContain(host.Logs.Messages, m => m.Contains("/slack", StringComparison.Ordinal) || m.Contains("/teams", StringComparison.Ordinal) || m.Contains("secret-0123456789", StringComparison.Ordinal));

        // The generic webhook: the notification itself.
        var failed = webhook.Single(r => triggerOf[r.NotificationId!] == "rollout.failed").Json;
        Assert.Equal(web, failed.GetProperty("deploymentId").GetString());
        Assert.Equal(2, failed.GetProperty("revision").GetInt32());
        Assert.Equal("everything", failed.GetProperty("rule").GetString());
        Assert.Equal("RollingBack", failed.GetProperty("state").GetString());
        Assert.All(webhook, r => Assert.StartsWith("application/json", r.ContentType, StringComparison.Ordinal));
        var gate = webhook.Single(r => triggerOf[r.NotificationId!] == "security.gate-refused").Json;
        Assert.Equal("intruder", gate.GetProperty("deploymentId").GetString());
        Assert.Contains("evil:1 is on the deny list", gate.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("component 'web' is crash-looping", webhook.Single(r => triggerOf[r.NotificationId!] == "instance.crash-looping").Json.GetProperty("message").GetString(), StringComparison.Ordinal);

        // CloudEvents 1.0, structured mode: the required attributes, the notification as data.
        foreach (var r in received.Where(r => r.Path == "/cloudevents"))
        {
            Assert.StartsWith("application/cloudevents+json", r.ContentType, StringComparison.Ordinal);
            var ce = r.Json;
            Assert.Equal("1.0", ce.GetProperty("specversion").GetString());
            Assert.Equal(r.NotificationId, ce.GetProperty("id").GetString());
            Assert.Equal("/bpi-orchestration/vm-alerts", ce.GetProperty("source").GetString());
            Assert.Equal("dev.bpi-orchestration." + triggerOf[r.NotificationId!], ce.GetProperty("type").GetString());
            Assert.Equal("application/json", ce.GetProperty("datacontenttype").GetString());
            Assert.True(DateTimeOffset.TryParse(ce.GetProperty("time").GetString(), out _));
            Assert.Equal(triggerOf[r.NotificationId!], ce.GetProperty("data").GetProperty("trigger").GetString());
        }

        var audit = received.Single(r => r.Path == "/cloudevents" && triggerOf[r.NotificationId!] == "audit.verification-failed").Json;
        Assert.False(audit.TryGetProperty("subject", out _)); // orchestrator-wide: no deployment
        Assert.Equal(web, received.Single(r => r.Path == "/cloudevents" && triggerOf[r.NotificationId!] == "rollout.failed").Json.GetProperty("subject").GetString());

        // Slack: fallback text and Block Kit blocks.
        var slack = received.Single(r => r.Path == "/slack" && triggerOf[r.NotificationId!] == "rollout.failed").Json;
        Assert.StartsWith("Rollout failed: deployment " + web + " revision 2", slack.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(["header", "section", "context"], slack.GetProperty("blocks").EnumerateArray().Select(b => b.GetProperty("type").GetString()));

        // Teams: a message carrying an Adaptive Card.
        var teams = received.Single(r => r.Path == "/teams" && triggerOf[r.NotificationId!] == "rollout.failed").Json;
        Assert.Equal("message", teams.GetProperty("type").GetString());
        var card = teams.GetProperty("attachments")[0];
        Assert.Equal("application/vnd.microsoft.card.adaptive", card.GetProperty("contentType").GetString());
        Assert.Equal("AdaptiveCard", card.GetProperty("content").GetProperty("type").GetString());
        Assert.Equal("Rollout failed", card.GetProperty("content").GetProperty("body")[0].GetProperty("text").GetString());
    }

    internal static void Add(NotificationOptions o, string name, NotificationChannelKind kind, SigningReceiver receiver, string path)
        => o.Channels.Add(new NotificationChannelOptions { Name = name, Kind = kind, Url = receiver.Url(path), Secret = Secrets[path] });

    private static List<WorkloadInstance> Instances(NotificationsHost host, string id)
        => [.. host.Runtime.Snapshot().Where(i => i.DeploymentId == id && i.State != InstanceState.Exited && i.State != InstanceState.Failed)];
}
