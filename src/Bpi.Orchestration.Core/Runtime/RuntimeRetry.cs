using System.Runtime.ExceptionServices;
using Polly;

namespace Bpi.Orchestration.Runtime;

/// <summary>
/// Runs runtime calls through the runtime's retry pipeline, with a fast path for the common case: the first attempt is
/// made directly, and a call that succeeds at once never enters the pipeline (no context rented, no strategy run). A
/// first attempt that fails — at once or later — is handed to the pipeline as its first attempt's outcome (the failure
/// is replayed instead of calling again), so which faults are retried, how often, the delays between attempts and the
/// retry logs are exactly the pipeline's.
/// </summary>
internal sealed class RuntimeRetry(ResiliencePipeline pipeline)
{
    public ResiliencePipeline Pipeline => pipeline;

    public ValueTask ExecuteAsync<TState>(Func<TState, CancellationToken, ValueTask> call, TState state, CancellationToken cancellationToken)
    {
        ValueTask first;
        try
        {
            first = call(state, cancellationToken);
        }
        catch (Exception ex)
        {
            return RetryAsync(call, state, ExceptionDispatchInfo.Capture(ex), cancellationToken);
        }

        return first.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitFirstAsync(first, call, state, cancellationToken);
    }

    public ValueTask<TResult> ExecuteAsync<TState, TResult>(Func<TState, CancellationToken, ValueTask<TResult>> call, TState state, CancellationToken cancellationToken)
    {
        ValueTask<TResult> first;
        try
        {
            first = call(state, cancellationToken);
        }
        catch (Exception ex)
        {
            return RetryAsync(call, state, ExceptionDispatchInfo.Capture(ex), cancellationToken);
        }

        return first.IsCompletedSuccessfully ? first : AwaitFirstAsync(first, call, state, cancellationToken);
    }

    private async ValueTask AwaitFirstAsync<TState>(ValueTask first, Func<TState, CancellationToken, ValueTask> call, TState state, CancellationToken cancellationToken)
    {
        ExceptionDispatchInfo failure;
        try
        {
            await first.ConfigureAwait(false);
            return;
        }
        catch (Exception ex)
        {
            failure = ExceptionDispatchInfo.Capture(ex);
        }

        await RetryAsync(call, state, failure, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<TResult> AwaitFirstAsync<TState, TResult>(ValueTask<TResult> first, Func<TState, CancellationToken, ValueTask<TResult>> call, TState state, CancellationToken cancellationToken)
    {
        ExceptionDispatchInfo failure;
        try
        {
            return await first.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failure = ExceptionDispatchInfo.Capture(ex);
        }

        return await RetryAsync(call, state, failure, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask RetryAsync<TState>(Func<TState, CancellationToken, ValueTask> call, TState state, ExceptionDispatchInfo failure, CancellationToken cancellationToken)
    {
        var replay = new Replay(failure);
        return pipeline.ExecuteAsync(
            static (s, ct) => s.replay.TakeFirst() is { } first ? ThrowAsync(first) : s.call(s.state, ct),
            (replay, call, state),
            cancellationToken);
    }

    private ValueTask<TResult> RetryAsync<TState, TResult>(Func<TState, CancellationToken, ValueTask<TResult>> call, TState state, ExceptionDispatchInfo failure, CancellationToken cancellationToken)
    {
        var replay = new Replay(failure);
        return pipeline.ExecuteAsync(
            static (s, ct) => s.replay.TakeFirst() is { } first ? ThrowAsync<TResult>(first) : s.call(s.state, ct),
            (replay, call, state),
            cancellationToken);
    }

    private static ValueTask ThrowAsync(ExceptionDispatchInfo failure)
    {
        failure.Throw();
        return ValueTask.CompletedTask;
    }

    private static ValueTask<TResult> ThrowAsync<TResult>(ExceptionDispatchInfo failure)
    {
        failure.Throw();
        return default;
    }

    /// <summary>The first attempt's failure, given to the pipeline once, as its first attempt.</summary>
    private sealed class Replay(ExceptionDispatchInfo failure)
    {
        private ExceptionDispatchInfo? _failure = failure;

        public ExceptionDispatchInfo? TakeFirst() => Interlocked.Exchange(ref _failure, null);
    }
}
