using Bpi.Orchestration.Healing;
using Bpi.Orchestration.Testing;

namespace Bpi.Orchestration.Core.Tests.Healing;

/// <summary>The one timer behind every healer's timed wakes.</summary>
public sealed class HealingWakesTests
{
    [Fact]
    public void Wakes_share_one_timer_armed_for_the_earliest_and_an_earlier_wake_stands()
    {
        var clock = new ManualTimeProvider();
        var wakes = new HealingWakes(clock);
        var woken = new List<Wakeable>();
        var (a, b) = (new Wakeable(woken), new Wakeable(woken));
        var now = clock.GetUtcNow();

        wakes.Schedule(a, now + TimeSpan.FromSeconds(5));
        wakes.Schedule(b, now + TimeSpan.FromSeconds(2));
        wakes.Schedule(a, now + TimeSpan.FromSeconds(9)); // later than the one a has: ignored
        Assert.Equal(1, clock.ScheduledTimers);
        Assert.Equal(2, wakes.Pending);

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal([b], woken);
        Assert.Equal(1, clock.ScheduledTimers); // armed again, for a

        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal([b, a], woken);
        Assert.Equal(0, wakes.Pending);
        Assert.Equal(0, clock.ScheduledTimers);
    }

    [Fact]
    public void A_wake_comes_at_its_time_even_when_the_clock_moved_after_the_healer_decided_on_it()
    {
        var clock = new ManualTimeProvider();
        var wakes = new HealingWakes(clock);
        var woken = new List<Wakeable>();
        var a = new Wakeable(woken);
        var decidedAt = clock.GetUtcNow();

        // A healing pass decides on a wake 10 s from now; a test advances the clock 9 s before the pass schedules it.
        clock.Advance(TimeSpan.FromSeconds(9));
        wakes.Schedule(a, decidedAt + TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal([a], woken);
    }

    [Fact]
    public void A_wake_already_due_is_refused_and_never_calls_the_healer_back_on_the_scheduling_thread()
    {
        // A manual clock fires a timer with no time left on the thread that arms it: handed to the timer, a wake already
        // due would call its healer back while the healer's lock is held by the caller (a deadlock with another healer).
        var clock = new ManualTimeProvider();
        var wakes = new HealingWakes(clock);
        var woken = new List<Wakeable>();
        var (a, b) = (new Wakeable(woken), new Wakeable(woken));
        var decidedAt = clock.GetUtcNow();

        Assert.False(wakes.Schedule(a, decidedAt));
        clock.Advance(TimeSpan.FromSeconds(10)); // the clock moved past the wake before the pass scheduled it
        Assert.False(wakes.Schedule(b, decidedAt + TimeSpan.FromSeconds(10)));

        Assert.Empty(woken);
        Assert.Equal(0, wakes.Pending);
        Assert.Equal(0, clock.ScheduledTimers);
        Assert.True(wakes.Schedule(a, clock.GetUtcNow() + TimeSpan.FromTicks(1)));
    }

    [Fact]
    public void A_withdrawn_wake_never_runs_and_is_not_kept()
    {
        var clock = new ManualTimeProvider();
        var wakes = new HealingWakes(clock);
        var woken = new List<Wakeable>();
        var (a, b) = (new Wakeable(woken), new Wakeable(woken));
        var now = clock.GetUtcNow();

        wakes.Schedule(a, now + TimeSpan.FromSeconds(1));
        wakes.Schedule(b, now + TimeSpan.FromSeconds(3));
        wakes.Cancel(a);
        Assert.Equal(1, wakes.Pending);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(woken);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal([b], woken);
    }

    [Fact]
    public void An_earlier_wake_rearms_the_timer_and_clear_drops_everything()
    {
        var clock = new ManualTimeProvider();
        var wakes = new HealingWakes(clock);
        var woken = new List<Wakeable>();
        var (a, b) = (new Wakeable(woken), new Wakeable(woken));
        var now = clock.GetUtcNow();

        wakes.Schedule(a, now + TimeSpan.FromSeconds(10));
        wakes.Schedule(b, now + TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([b], woken);

        wakes.Clear();
        Assert.Equal(0, wakes.Pending);
        clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal([b], woken);
    }

    private sealed class Wakeable(List<Wakeable> woken) : IWakeable
    {
        public void OnDue() => woken.Add(this);
    }
}
