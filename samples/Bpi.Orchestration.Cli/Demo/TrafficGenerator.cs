using System.Collections.Concurrent;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Cli.Demo;

/// <summary>
/// Sends a steady trickle of <c>GET /work</c> requests through the router's stable endpoint (one connection per
/// request, so the router's per-connection weights show) and counts the answers per phase and per version.
/// </summary>
internal sealed class TrafficGenerator : IAsyncDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(5) };
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, int>> _counts = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _time;
    private readonly ServiceEndpoint _endpoint;
    private readonly Task _loop;
    private volatile string _phase;
    private int _disposed;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TrafficGenerator(ServiceEndpoint endpoint, string phase, TimeProvider time)
    {
        _endpoint = endpoint;
        _phase = phase;
        _time = time;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Later answers count under this phase.</summary>
    public string Phase
    {
        get => _phase;
        set => _phase = value;
    }

    /// <summary>Answers per version (<c>1.0.0</c> …; an answer with status 500 counts as <c>error</c>, a failed request as <c>failed</c>) in a phase.</summary>
    public IReadOnlyDictionary<string, int> CountsOf(string phase)
        => _counts.TryGetValue(phase, out var counts) ? counts.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal) : new Dictionary<string, int>();

    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> All()
        => _counts.ToDictionary(p => p.Key, p => (IReadOnlyDictionary<string, int>)p.Value.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal), StringComparer.Ordinal);

    /// <summary>Completes once the current phase has at least <paramref name="answers"/> answers.</summary>
    public async Task WaitForAnswersAsync(int answers, CancellationToken cancellationToken)
    {
        while (CountsOf(_phase).Values.Sum() < answers)
        {
            await Volatile.Read(ref _progress).Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _client.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var url = new Uri($"http://{_endpoint}/work");
        while (!cancellationToken.IsCancellationRequested)
        {
            // A request counts in the phase it was sent in, however long its answer takes.
            var phase = _phase;
            string key;
            try
            {
                using var response = await _client.GetAsync(url, cancellationToken).ConfigureAwait(false);
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);

                // "ok from 2.0.0 <instance>" or "error from 3.0.0 <instance>"
                var parts = body.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                key = parts.Length >= 3 ? parts[2] : "unknown";
                if (!response.IsSuccessStatusCode)
                {
                    Count(phase, key + " (error)");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                key = "failed";
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Count(phase, key);
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(25), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Count(string phase, string key)
    {
        var counts = _counts.GetOrAdd(phase, _ => new ConcurrentDictionary<string, int>(StringComparer.Ordinal));
        counts.AddOrUpdate(key, 1, (_, n) => n + 1);
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
