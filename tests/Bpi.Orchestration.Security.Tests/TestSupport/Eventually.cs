namespace Bpi.Orchestration.Security.Tests.TestSupport;

internal static class Eventually
{
    /// <summary>Reads a stream until an item matches, bounded by a generous real-time guard (no sleeping).</summary>
    public static async Task<T> FirstAsync<T>(IAsyncEnumerator<T> stream, Func<T, bool> predicate, TimeSpan? guard = null)
    {
        using var timeout = new CancellationTokenSource(guard ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var next = stream.MoveNextAsync().AsTask();
            if (await Task.WhenAny(next, Task.Delay(Timeout.InfiniteTimeSpan, timeout.Token).ContinueWith(_ => false, TaskScheduler.Default)) != next)
            {
                throw new TimeoutException("The expected item did not arrive.");
            }

            if (!await next)
            {
                throw new InvalidOperationException("The stream ended before the expected item arrived.");
            }

            if (predicate(stream.Current))
            {
                return stream.Current;
            }
        }
    }
}
