namespace Bpi.Orchestration.Notifications.Tests;

/// <summary>De-duplication and the rate limit per rule, end to end through the VM on a manual clock.</summary>
public sealed class RuleLimitTests
{
    private static readonly Dictionary<string, string> Secrets = new() { ["/hook"] = "limits-secret-0123456789" };

    [Fact]
    public async Task The_same_trigger_for_the_same_deployment_and_revision_is_sent_once_per_window()
    {
        using var receiver = new SigningReceiver(Secrets);
        await using var host = NewHost(receiver, "dedup", rule => rule.RateLimit = 100, window: TimeSpan.FromMinutes(10));
        await host.StartNotifierAsync();

        host.Vm.ReportAuditVerificationFailed("ChainBroken: entry 3");
        host.Vm.ReportAuditVerificationFailed("ChainBroken: entry 3, again");
        await Eventually.UntilAsync(() => host.Deliveries("hook-dedup", "delivered") == 1 && host.Suppressed("rule-dedup", "duplicate") == 1, "one sent, one suppressed");

        host.Clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        host.Vm.ReportAuditVerificationFailed("still within the window");
        await Eventually.UntilAsync(() => host.Suppressed("rule-dedup", "duplicate") == 2, "suppressed within the window");

        host.Clock.Advance(TimeSpan.FromSeconds(1));
        host.Vm.ReportAuditVerificationFailed("the window has passed");
        await Eventually.UntilAsync(() => host.Deliveries("hook-dedup", "delivered") == 2, "sent again after the window");

        // A different deployment and revision is not a duplicate: rollout.started for r1 of two deployments.
        var a = await host.Vm.DeployAsync(Specs.Web(1, name: "a"));
        var b = await host.Vm.DeployAsync(Specs.Web(1, name: "b"));
        await host.SettleAsync(a);
        await host.SettleAsync(b);
        await Eventually.UntilAsync(() => host.Deliveries("hook-dedup", "delivered") == 4, "both rollouts' starts are sent");
        Assert.Equal(2, host.Suppressed("rule-dedup", "duplicate"));
        Assert.Equal(
            ["audit.verification-failed", "audit.verification-failed", "rollout.started", "rollout.started"],
            receiver.Received.Select(r => r.Json.GetProperty("trigger").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_rule_sends_at_most_its_rate_limit_per_window()
    {
        using var receiver = new SigningReceiver(Secrets);
        await using var host = NewHost(receiver, "rate", rule =>
        {
            rule.RateLimit = 2;
            rule.RateLimitWindow = TimeSpan.FromMinutes(1);
        }, window: TimeSpan.Zero);
        await host.StartNotifierAsync();

        for (var i = 0; i < 5; i++)
        {
            host.Vm.ReportAuditVerificationFailed($"failure {i}");
        }

        await Eventually.UntilAsync(() => host.Deliveries("hook-rate", "delivered") == 2 && host.Suppressed("rule-rate", "rate_limited") == 3, "two sent, three over the limit");
        Assert.Equal(3, host.Logs.Messages.Count(m => m.Contains("Rule rule-rate reached its rate limit (2 per 00:01:00)", StringComparison.Ordinal)));

        host.Clock.Advance(TimeSpan.FromMinutes(1));
        host.Vm.ReportAuditVerificationFailed("the next window");
        await Eventually.UntilAsync(() => host.Deliveries("hook-rate", "delivered") == 3, "a new window sends again");
        Assert.Equal(["failure 0", "failure 1", "the next window"], receiver.Received.Select(r => r.Json.GetProperty("message").GetString()));
        Assert.Equal(3, host.Suppressed("rule-rate", "rate_limited"));
    }

    private static NotificationsHost NewHost(SigningReceiver receiver, string name, Action<NotificationRule> rule, TimeSpan window) => new(o =>
    {
        o.Channels.Add(new NotificationChannelOptions { Name = "hook-" + name, Url = receiver.Url("/hook"), Secret = Secrets["/hook"] });
        var r = new NotificationRule { Name = "rule-" + name, Triggers = { NotificationTrigger.AuditVerificationFailed, NotificationTrigger.RolloutStarted }, Channels = { "hook-" + name } };
        rule(r);
        o.Rules.Add(r);
        o.DeduplicationWindow = window;
        o.MaxConcurrentDeliveries = 1;
    });
}
