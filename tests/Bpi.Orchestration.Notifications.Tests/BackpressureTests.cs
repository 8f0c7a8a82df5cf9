namespace Bpi.Orchestration.Notifications.Tests;

/// <summary>A receiver that does not answer: the queue fills, further notifications are dropped (counted), and rollouts go on.</summary>
public sealed class BackpressureTests
{
    private static readonly Dictionary<string, string> Secrets = new() { ["/hook"] = "backpressure-secret-0123456789" };

    [Fact]
    public async Task A_full_queue_drops_notifications_and_counts_them_while_the_rollout_completes()
    {
        using var release = new ManualResetEventSlim();
        using var receiver = new SigningReceiver(Secrets, _ =>
        {
            release.Wait(TimeSpan.FromSeconds(60)); // holds the one request in flight until the test lets it go
            return 200;
        });
        try
        {
            await using var host = new NotificationsHost(o =>
            {
                o.Channels.Add(new NotificationChannelOptions { Name = "hook-full", Url = receiver.Url("/hook"), Secret = Secrets["/hook"] });
                o.Rules.Add(new NotificationRule
                {
                    Name = "rule-full",
                    Triggers = { NotificationTrigger.AuditVerificationFailed, NotificationTrigger.RolloutStarted, NotificationTrigger.RolloutPromoted },
                    Channels = { "hook-full" },
                });
                o.QueueCapacity = 1;
                o.MaxConcurrentDeliveries = 1;
                o.DeduplicationWindow = TimeSpan.Zero;
            });
            await host.StartNotifierAsync();

            // The first notification is in flight (the receiver holds it).
            host.Vm.ReportAuditVerificationFailed("first");
            await Eventually.UntilAsync(() => receiver.Received.Count == 1, "the first request reaches the receiver");

            // A whole rollout runs while the receiver holds the sender: its start is queued, its promotion dropped.
            var id = await host.Vm.DeployAsync(Specs.Web(1, name: "web"));
            Assert.Equal(DeploymentState.Running, (await host.SettleAsync(id)).State);
            host.Vm.ReportAuditVerificationFailed("second");
            host.Vm.ReportAuditVerificationFailed("third");
            await Eventually.UntilAsync(() => host.Deliveries("hook-full", "dropped") == 3, "three notifications are dropped");
            Assert.Equal(3, host.Logs.Messages.Count(m => m.Contains("dropped: the delivery queue is full (1)", StringComparison.Ordinal)));

            release.Set();
            await Eventually.UntilAsync(() => host.Deliveries("hook-full", "delivered") == 2, "the one in flight and the one queued are delivered");
            Assert.Equal(["audit.verification-failed", "rollout.started"], receiver.Received.Select(r => r.Json.GetProperty("trigger").GetString()));
            Assert.Equal(3, host.Deliveries("hook-full", "dropped"));
        }
        finally
        {
            release.Set();
        }
    }
}
