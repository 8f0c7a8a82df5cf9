using Bpi.Orchestration.Resilience;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Bpi.Orchestration.Tests.Resilience;

/// <summary>One circuit breaker per target, on the orchestrator's clock: closed, open (fail fast), half-open, closed.</summary>
public sealed class CircuitBreakersTests
{
    private static readonly OrchestrationException Unreachable = new(OrchestrationErrorKind.RuntimeUnavailable, "engine unreachable");

    private readonly ManualTimeProvider _clock = new();

    private CircuitBreakers NewBreakers(bool enabled = true) => new(
        new CircuitBreakingOptions { Enabled = enabled, FailureRatio = 0.5, MinimumThroughput = 4, SamplingDuration = TimeSpan.FromSeconds(30), BreakDuration = TimeSpan.FromSeconds(10) },
        _clock,
        NullLogger.Instance);

    [Fact]
    public async Task A_target_that_keeps_failing_opens_and_then_fails_fast_without_being_called()
    {
        var breakers = NewBreakers();
        var target = new Target { Failure = Unreachable };
        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
        }

        var open = await Assert.ThrowsAsync<CircuitOpenException>(() => target.CallThrough(breakers, "runtime:docker"));

        Assert.Equal(4, target.Calls);
        Assert.Equal("runtime:docker", open.Target);
        Assert.Equal(OrchestrationErrorKind.RuntimeUnavailable, open.Kind);
        Assert.Contains("engine unreachable", open.Message, StringComparison.Ordinal);
        var status = Assert.Single(breakers.GetStatus());
        Assert.Equal(CircuitBreakerState.Open, status.State);
        Assert.Equal(1, status.TimesOpened);
        Assert.Equal(_clock.GetUtcNow(), status.ChangedAt);
    }

    [Fact]
    public async Task Each_target_has_its_own_circuit()
    {
        var breakers = NewBreakers();
        var engine = new Target { Failure = Unreachable };
        var router = new Target();
        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => engine.CallThrough(breakers, "runtime:docker"));
            await router.CallThrough(breakers, "router:nginx");
        }

        await Assert.ThrowsAsync<CircuitOpenException>(() => engine.CallThrough(breakers, "runtime:docker"));
        await router.CallThrough(breakers, "router:nginx");

        Assert.Equal(5, router.Calls);
        Assert.Equal(
            [("router:nginx", CircuitBreakerState.Closed), ("runtime:docker", CircuitBreakerState.Open)],
            breakers.GetStatus().Select(s => (s.Target, s.State)));
    }

    [Fact]
    public async Task After_the_break_one_trial_call_closes_the_circuit_when_it_succeeds()
    {
        var breakers = NewBreakers();
        var target = new Target { Failure = Unreachable };
        await TripAsync(breakers, target);
        target.Failure = null;

        _clock.Advance(TimeSpan.FromSeconds(9));
        await Assert.ThrowsAsync<CircuitOpenException>(() => target.CallThrough(breakers, "runtime:docker"));
        _clock.Advance(TimeSpan.FromSeconds(2));
        await target.CallThrough(breakers, "runtime:docker");
        await target.CallThrough(breakers, "runtime:docker");

        Assert.Equal(6, target.Calls);
        var status = Assert.Single(breakers.GetStatus());
        Assert.Equal(CircuitBreakerState.Closed, status.State);
        Assert.Equal(_clock.GetUtcNow(), status.ChangedAt);
    }

    [Fact]
    public async Task A_failing_trial_call_opens_the_circuit_again()
    {
        var breakers = NewBreakers();
        var target = new Target { Failure = Unreachable };
        await TripAsync(breakers, target);

        _clock.Advance(TimeSpan.FromSeconds(11));
        await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
        await Assert.ThrowsAsync<CircuitOpenException>(() => target.CallThrough(breakers, "runtime:docker"));

        Assert.Equal(5, target.Calls);
        var status = Assert.Single(breakers.GetStatus());
        Assert.Equal(CircuitBreakerState.Open, status.State);
        Assert.Equal(2, status.TimesOpened);
    }

    [Fact]
    public async Task Permanent_and_unknown_failures_never_open_the_circuit()
    {
        var breakers = NewBreakers();
        var target = new Target { Failure = new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, "bad request") };
        for (var i = 0; i < 10; i++)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
        }

        target.Failure = new InvalidOperationException("odd");
        for (var i = 0; i < 10; i++)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => target.CallThrough(breakers, "runtime:docker"));
        }

        Assert.Equal(20, target.Calls);
        Assert.Equal(CircuitBreakerState.Closed, Assert.Single(breakers.GetStatus()).State);
    }

    [Fact]
    public async Task Throttled_answers_count_against_the_target()
    {
        var breakers = NewBreakers();
        var target = new Target { Failure = new HttpRequestException("slow down", null, System.Net.HttpStatusCode.TooManyRequests) };
        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => target.CallThrough(breakers, "metrics:prometheus"));
        }

        await Assert.ThrowsAsync<CircuitOpenException>(() => target.CallThrough(breakers, "metrics:prometheus"));
        Assert.Equal(4, target.Calls);
    }

    [Fact]
    public async Task Disabled_breakers_call_through_and_track_nothing()
    {
        var breakers = NewBreakers(enabled: false);
        var target = new Target { Failure = Unreachable };
        for (var i = 0; i < 10; i++)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
        }

        Assert.Equal(10, target.Calls);
        Assert.Empty(breakers.GetStatus());
    }

    private static async Task TripAsync(CircuitBreakers breakers, Target target)
    {
        for (var i = 0; i < 4; i++)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
        }

        Assert.Equal(CircuitBreakerState.Open, Assert.Single(breakers.GetStatus()).State);
    }

    [Fact]
    public async Task Successes_that_complete_at_once_count_towards_the_failure_ratio()
    {
        var breakers = NewBreakers();
        var target = new Target();
        for (var call = 0; call < 6; call++)
        {
            await target.CallThrough(breakers, "runtime:docker");
        }

        // 5 failures of 11 calls (45 %) keep the circuit closed; the sixth (6 of 12, 50 %) opens it.
        target.Failure = Unreachable;
        for (var call = 0; call < 5; call++)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
            Assert.Equal(CircuitBreakerState.Closed, Assert.Single(breakers.GetStatus()).State);
        }

        await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
        Assert.Equal(CircuitBreakerState.Open, Assert.Single(breakers.GetStatus()).State);
    }

    [Fact]
    public async Task Outcomes_older_than_the_sampling_duration_no_longer_count()
    {
        var breakers = NewBreakers();
        var target = new Target();
        for (var call = 0; call < 10; call++)
        {
            await target.CallThrough(breakers, "runtime:docker");
        }

        _clock.Advance(TimeSpan.FromSeconds(31));
        target.Failure = Unreachable;
        for (var call = 0; call < 4; call++)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
        }

        // Only the four failures are inside the window: 100 % of the minimum throughput.
        Assert.Equal(CircuitBreakerState.Open, Assert.Single(breakers.GetStatus()).State);
    }

    [Fact]
    public async Task A_call_that_completes_later_is_counted_when_it_completes()
    {
        var breakers = NewBreakers();
        var failures = new List<Task>();
        var pending = new List<TaskCompletionSource<int>>();
        for (var call = 0; call < 4; call++)
        {
            var completion = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            pending.Add(completion);
            failures.Add(breakers.ExecuteAsync("runtime:docker", static (c, _) => new ValueTask<int>(c.Task), completion).AsTask());
        }

        Assert.Equal(CircuitBreakerState.Closed, Assert.Single(breakers.GetStatus()).State);
        pending.ForEach(p => p.SetException(Unreachable));
        foreach (var failure in failures)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => failure);
        }

        Assert.Equal(CircuitBreakerState.Open, Assert.Single(breakers.GetStatus()).State);
    }

    [Fact]
    public async Task A_cancelled_trial_call_neither_closes_nor_reopens_the_circuit_and_the_next_call_is_the_trial()
    {
        var breakers = NewBreakers();
        var target = new Target { Failure = Unreachable };
        for (var call = 0; call < 4; call++)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
        }

        _clock.Advance(TimeSpan.FromSeconds(11));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => breakers.ExecuteAsync<int, int>(
            "runtime:docker", static (_, _) => ValueTask.FromCanceled<int>(new CancellationToken(canceled: true)), 0).AsTask());
        Assert.Equal(CircuitBreakerState.HalfOpen, Assert.Single(breakers.GetStatus()).State);

        target.Failure = null;
        await target.CallThrough(breakers, "runtime:docker");
        var status = Assert.Single(breakers.GetStatus());
        Assert.Equal(CircuitBreakerState.Closed, status.State);
        Assert.Equal(1, status.TimesOpened);
    }

    [Fact]
    public async Task A_trial_call_that_never_ends_does_not_keep_the_circuit_half_open_forever()
    {
        var breakers = NewBreakers();
        var target = new Target { Failure = Unreachable };
        for (var call = 0; call < 4; call++)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
        }

        _clock.Advance(TimeSpan.FromSeconds(11));
        var hung = new TaskCompletionSource<int>();
        var trial = breakers.ExecuteAsync("runtime:docker", static (h, _) => new ValueTask<int>(h.Task), hung).AsTask();
        target.Failure = null;
        await Assert.ThrowsAsync<CircuitOpenException>(() => target.CallThrough(breakers, "runtime:docker"));

        // A break later the hung trial no longer blocks: the next call is a new trial, and it closes the circuit.
        _clock.Advance(TimeSpan.FromSeconds(10));
        await target.CallThrough(breakers, "runtime:docker");
        Assert.Equal(CircuitBreakerState.Closed, Assert.Single(breakers.GetStatus()).State);
        Assert.False(trial.IsCompleted);
    }

    [Fact]
    public async Task The_state_changes_are_announced_in_order()
    {
        var breakers = NewBreakers();
        var changes = new List<CircuitBreakerState>();
        breakers.StateChanged += s => changes.Add(s.State);
        var target = new Target { Failure = Unreachable };
        for (var call = 0; call < 4; call++)
        {
            await Assert.ThrowsAsync<OrchestrationException>(() => target.CallThrough(breakers, "runtime:docker"));
        }

        _clock.Advance(TimeSpan.FromSeconds(11));
        target.Failure = null;
        await target.CallThrough(breakers, "runtime:docker");

        Assert.Equal([CircuitBreakerState.Open, CircuitBreakerState.HalfOpen, CircuitBreakerState.Closed], changes);
    }

    private sealed class Target
    {
        public Exception? Failure { get; set; }

        public int Calls { get; private set; }

        public async Task CallThrough(CircuitBreakers breakers, string target)
            => await breakers.ExecuteAsync(target, static (self, _) => self.CallAsync(), this);

        private ValueTask<int> CallAsync()
        {
            Calls++;
            return Failure is { } failure ? ValueTask.FromException<int>(failure) : ValueTask.FromResult(Calls);
        }
    }
}
