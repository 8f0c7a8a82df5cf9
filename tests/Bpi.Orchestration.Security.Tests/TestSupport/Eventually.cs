namespace Bpi.Orchestration.Security.Tests.TestSupport;

internal static class Eventually
{
    /// <summary>Reads a stream until an item matches, bounded by a generous real-time guard against hangs (no sleeping).</summary>
    public static async Task<T> FirstAsync<T>(IAsyncEnumerator<T> stream, Func<T, bool> predicate, TimeSpan? guard = null)
    {
        var limit = guard ?? TimeSpan.FromSeconds(30);
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
}
