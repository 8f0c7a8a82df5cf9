using System.Diagnostics;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>Waits for a condition on real state (processes, an engine, a stream), polling within a bound; never a fixed sleep.</summary>
public static class Eventually
{
    /// <summary>How long a wait may take unless the test says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Observes until <paramref name="done"/> holds; fails the test with the last observation after <paramref name="timeout"/>.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> observe, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(observe);
        ArgumentNullException.ThrowIfNull(done);
        var limit = timeout ?? DefaultTimeout;
        var started = Stopwatch.GetTimestamp();
        var value = await observe();
        while (!done(value))
        {
            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting until {what}; last observed: {Describe(value)}");
            }

            await Task.Delay(PollInterval);
            value = await observe();
        }

        return value;
    }

    /// <summary>Waits until <paramref name="condition"/> holds; fails the test after <paramref name="timeout"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return UntilAsync(() => Task.FromResult(condition()), d => d, what, timeout);
    }

    /// <summary>Reads a stream until an item matches, bounded by a generous real-time guard against hangs (no sleeping).</summary>
    public static async Task<T> FirstAsync<T>(IAsyncEnumerator<T> stream, Func<T, bool> predicate, TimeSpan? guard = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(predicate);
        var limit = guard ?? DefaultTimeout;
        while (true)
        {
            if (!await stream.MoveNextAsync().AsTask().WaitAsync(limit))
            {
                throw new InvalidOperationException("The stream ended before the expected item arrived.");
            }

            if (predicate(stream.Current))
            {
                return stream.Current;
            }
        }
    }

    private static string Describe<T>(T value) => value switch
    {
        null => "null",
        System.Collections.IEnumerable items and not string => "[" + string.Join(", ", items.Cast<object?>()) + "]",
        _ => value.ToString() ?? "",
    };
}
