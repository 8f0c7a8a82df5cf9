using Bpi.Orchestration.Testing;

namespace Bpi.Orchestration.Notifications.Tests;

/// <summary>A receiver that answers 500: each notification is retried, then given up, and the rollout never waits for it.</summary>
public sealed class FailingReceiverTests
{
    private static readonly Dictionary<string, string> Secrets = new() { ["/hook"] = "failing-secret-0123456789" };

    [Fact]
    public async Task A_failing_receiver_is_retried_then_given_up_and_the_rollout_is_not_slowed()
    {
        // The same rollout twice on a manual clock — without notifications, and with a receiver that always fails — must
        // show the same step times: the VM's event publication never waits for a delivery.
        static void Runtime(InMemoryRuntimeOptions o) => o.StartDelay = TimeSpan.FromSeconds(5);
        List<(DeploymentEventKind Kind, int? Step, TimeSpan At)> baseline;
        await using (var quiet = new NotificationsHost(null, Runtime))
        {
            (baseline, _) = await RolloutTimelineAsync(quiet);
        }

        using var receiver = new SigningReceiver(Secrets, _ => 500);
        await using var host = new NotificationsHost(
            o =>
            {
                o.Channels.Add(new NotificationChannelOptions { Name = "hook-failing", Url = receiver.Url("/hook"), Secret = Secrets["/hook"] });
                var rule = new NotificationRule { Name = "rollouts-failing", Triggers = { NotificationTrigger.RolloutStarted, NotificationTrigger.RolloutPromoted }, Channels = { "hook-failing" } };
                o.Rules.Add(rule);
                o.MaxRetryAttempts = 3;
                o.RetryBaseDelay = TimeSpan.FromMinutes(1);
                o.RetryMaxDelay = TimeSpan.FromMinutes(5);
            },
            Runtime);
        await host.StartNotifierAsync();
        var (timeline, settledAt) = await RolloutTimelineAsync(host);

        Assert.Equal(baseline, timeline);
        Assert.Contains(timeline, e => e.Kind == DeploymentEventKind.PlanCompleted);
        Assert.True(timeline[^1].At >= TimeSpan.FromSeconds(5), "the rollout waited for its instance to start (5 s of the clock)");

        // The rollout settled while the notifications were still being retried: none was given up yet.
        Assert.Equal(0, host.Deliveries("hook-failing", "failed"));
        Assert.Equal(settledAt, host.Clock.GetUtcNow());

        // Now let the retries run out on the clock (1 attempt + 3 retries for each of the two notifications): the clock moves
        // whenever something waits on it — a retry's back-off, an attempt's timeout — until both are given up.
        async Task<bool> GivenUpAsync()
        {
            await Eventually.UntilAsync(() => host.Deliveries("hook-failing", "failed") == 2, "both notifications are given up");
            return true;
        }

        await host.Clock.RunUntilAsync(GivenUpAsync(), TimeSpan.FromSeconds(10), cancellationToken: NotificationsHost.Timeout());
        var attempts = receiver.Received.GroupBy(r => r.NotificationId).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts.Values, n => Assert.Equal(4, n));
        Assert.All(receiver.Received, r => Assert.True(r.SignatureValid));
        Assert.Equal(0, host.Deliveries("hook-failing", "delivered"));
        Assert.Equal(2, host.Logs.Messages.Count(m => m.Contains("given up after 4 attempt(s): HTTP 500", StringComparison.Ordinal)));
        Assert.Equal(6, host.Logs.Messages.Count(m => m.Contains("failed (HTTP 500 Internal Server Error); retrying in", StringComparison.Ordinal)));
        Assert.DoesNotContain(host.Logs.Messages, m => m.Contains(Secrets["/hook"], StringComparison.Ordinal));
    }

    /// <summary>Deploys one instance and returns the rollout's events as offsets from its first, and the clock when it settled.</summary>
    private static async Task<(List<(DeploymentEventKind Kind, int? Step, TimeSpan At)> Timeline, DateTimeOffset SettledAt)> RolloutTimelineAsync(NotificationsHost host)
    {
        using var stop = new CancellationTokenSource();
        var events = host.Vm.WatchAsync(null, stop.Token).GetAsyncEnumerator(stop.Token);
        var id = await host.Vm.DeployAsync(Specs.Web(1, name: "web"));
        var status = await host.SettleAsync(id);
        Assert.Equal(DeploymentState.Running, status.State);
        var settledAt = host.Clock.GetUtcNow();
        var seen = new List<DeploymentEvent>();
        while (seen.Count == 0 || seen[^1] is not { Kind: DeploymentEventKind.StateChanged, State: DeploymentState.Running })
        {
            Assert.True(await events.MoveNextAsync());
            seen.Add(events.Current);
        }

        await stop.CancelAsync();
        await events.DisposeAsync();
        var start = seen[0].Timestamp;
        return ([.. seen.Where(e => e.Kind is not DeploymentEventKind.Progress).Select(e => (e.Kind, e.StepIndex, e.Timestamp - start))], settledAt);
    }
}
