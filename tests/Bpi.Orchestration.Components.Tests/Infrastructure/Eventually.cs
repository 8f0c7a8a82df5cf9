namespace Bpi.Orchestration.Components.Tests.Infrastructure;

/// <summary>Waits for a condition on real engine state, polling within a bounded time; the only place tests delay.</summary>
internal static class Eventually
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> observe, Func<T, bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        using var deadline = new CancellationTokenSource(limit);
        T last = default!;
        while (true)
        {
            last = await observe();
            if (condition(last))
            {
                return last;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting until {what}; last observed: {Describe(last)}");
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
