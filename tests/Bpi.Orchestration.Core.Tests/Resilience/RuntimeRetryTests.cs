using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Polly;
using Polly.Retry;
using Xunit;

namespace Bpi.Orchestration.Tests.Resilience;

public sealed class RuntimeRetryTests
{
    private readonly ManualTimeProvider _clock = new();
    private readonly List<int> _retries = [];

    [Fact]
    public async Task A_call_that_succeeds_at_once_is_made_once_and_never_enters_the_pipeline()
    {
        var retry = Build();
        var calls = 0;

        var result = await retry.ExecuteAsync(static (c, _) => { c.Value++; return ValueTask.FromResult(42); }, new Counter(), CancellationToken.None);
        await retry.ExecuteAsync((_, _) => { calls++; return ValueTask.CompletedTask; }, 0, CancellationToken.None);

        Assert.Equal(42, result);
        Assert.Equal(1, calls);
        Assert.Empty(_retries);
    }

    [Fact]
    public async Task A_transient_failure_is_retried_as_the_pipeline_says_with_its_delays()
    {
        var retry = Build();
        var attempts = 0;
        var task = retry.ExecuteAsync(
            (_, _) => ++attempts < 3 ? throw Transient() : ValueTask.FromResult("ok"),
            0,
            CancellationToken.None).AsTask();

        // Attempt 1 failed at once; the pipeline waits its first delay (1 s) before attempt 2, then 2 s before attempt 3.
        Assert.Equal(1, attempts);
        await _clock.WaitForTimersAsync(1, Timeout());
        _clock.Advance(TimeSpan.FromSeconds(1));
        await _clock.WaitForTimersAsync(1, Timeout());
        Assert.Equal(2, attempts);
        _clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal("ok", await task.WaitAsync(Timeout()));
        Assert.Equal(3, attempts);
        Assert.Equal([0, 1], _retries);
    }

    [Fact]
    public async Task A_first_attempt_that_fails_later_is_retried_too()
    {
        var retry = Build();
        var attempts = 0;
        var gate = new TaskCompletionSource();

        var task = retry.ExecuteAsync(
            async (_, _) =>
            {
                if (++attempts == 1)
                {
                    await gate.Task;
                    throw Transient();
                }
            },
            0,
            CancellationToken.None).AsTask();
        gate.SetResult();
        await _clock.WaitForTimersAsync(1, Timeout());
        _clock.Advance(TimeSpan.FromSeconds(1));

        await task.WaitAsync(Timeout());
        Assert.Equal(2, attempts);
        Assert.Equal([0], _retries);
    }

    [Fact]
    public async Task A_failure_the_pipeline_does_not_handle_is_thrown_as_it_was_after_one_attempt()
    {
        var retry = Build();
        var attempts = 0;

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => retry.ExecuteAsync(
            (_, _) =>
            {
                attempts++;
                throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, "bad");
            },
            0,
            CancellationToken.None).AsTask());

        Assert.Equal("bad", error.Message);
        Assert.Equal(1, attempts);
        Assert.Empty(_retries);
    }

    [Fact]
    public async Task A_transient_failure_that_persists_fails_after_every_attempt_the_pipeline_allows()
    {
        var retry = Build();
        var attempts = 0;
        var task = retry.ExecuteAsync((_, _) => { attempts++; throw Transient(); }, 0, CancellationToken.None).AsTask();
        while (!task.IsCompleted)
        {
            await Task.WhenAny(task, _clock.WaitForTimersAsync(1, Timeout()));
            _clock.Advance(TimeSpan.FromSeconds(10));
        }

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => task);
        Assert.True(error.IsTransient);
        Assert.Equal(4, attempts); // the first and three retries
        Assert.Equal([0, 1, 2], _retries);
    }

    private static OrchestrationException Transient() => new(OrchestrationErrorKind.RuntimeUnavailable, "the engine did not answer");

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    private RuntimeRetry Build()
        => new(new ResiliencePipelineBuilder { TimeProvider = _clock }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 3,
                Delay = TimeSpan.FromSeconds(1),
                BackoffType = DelayBackoffType.Exponential,
                ShouldHandle = new PredicateBuilder().Handle<OrchestrationException>(e => e.IsTransient),
                OnRetry = args =>
                {
                    lock (_retries)
                    {
                        _retries.Add(args.AttemptNumber);
                    }

                    return ValueTask.CompletedTask;
                },
            })
            .Build());

    private sealed class Counter
    {
        public int Value { get; set; }
    }
}
