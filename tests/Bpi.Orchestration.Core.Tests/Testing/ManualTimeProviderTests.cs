using Bpi.Orchestration.Testing;
using Xunit;

namespace Bpi.Orchestration.Tests.Testing;

public sealed class ManualTimeProviderTests
{
    [Fact]
    public async Task A_delay_completes_only_when_the_clock_is_advanced_past_it()
    {
        var clock = new ManualTimeProvider();
        var delay = Task.Delay(TimeSpan.FromSeconds(10), clock);

        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(delay.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        await delay.WaitAsync(TestHost.Timeout());
        Assert.Equal(TimeSpan.FromSeconds(10), clock.GetElapsedTime(0));
    }

    [Fact]
    public void Timers_fire_in_due_order_with_the_clock_at_their_due_time_and_periodic_timers_repeat()
    {
        var clock = new ManualTimeProvider();
        var start = clock.GetUtcNow();
        var fired = new List<(string, TimeSpan)>();
        using var periodic = clock.CreateTimer(_ => fired.Add(("p", clock.GetUtcNow() - start)), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        using var once = clock.CreateTimer(_ => fired.Add(("o", clock.GetUtcNow() - start)), null, TimeSpan.FromSeconds(3), Timeout.InfiniteTimeSpan);

        clock.Advance(TimeSpan.FromSeconds(6));

        Assert.Equal([("p", TimeSpan.FromSeconds(2)), ("o", TimeSpan.FromSeconds(3)), ("p", TimeSpan.FromSeconds(4)), ("p", TimeSpan.FromSeconds(6))], fired);
    }

    [Fact]
    public async Task WaitForTimers_completes_once_a_timer_is_scheduled()
    {
        var clock = new ManualTimeProvider();
        var waiting = clock.WaitForTimersAsync(1);
        Assert.False(waiting.IsCompleted);

        var delay = Task.Delay(TimeSpan.FromMinutes(1), clock);

        await waiting.WaitAsync(TestHost.Timeout());
        clock.Advance(TimeSpan.FromMinutes(1));
        await delay.WaitAsync(TestHost.Timeout());
        Assert.Equal(0, clock.ScheduledTimers);
    }

    [Fact]
    public async Task SelfHealing_WaitForTimers_does_not_count_a_standing_periodic_timer_so_a_drive_loop_waits_for_the_rollout()
    {
        // Regression: self-healing's resync is a periodic timer always scheduled; counted, the documented drive loop
        // ("wait for a timer, advance") advanced the clock while a canary was still busy and outran it.
        var clock = new ManualTimeProvider();
        using var resync = clock.CreateTimer(_ => { }, null, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
        var waiting = clock.WaitForTimersAsync(1);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, clock.ScheduledTimers);

        var delay = Task.Delay(TimeSpan.FromSeconds(5), clock);

        await waiting.WaitAsync(TestHost.Timeout());
        clock.Advance(TimeSpan.FromSeconds(5));
        await delay.WaitAsync(TestHost.Timeout());
        Assert.False(clock.WaitForTimersAsync(1).IsCompleted);
    }
}
