using System.Collections.Concurrent;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Tests.Infrastructure;

/// <summary>
/// Sends <c>GET</c> requests through a router endpoint back to back (one connection per request, as the CLI demo does,
/// so each request is a new pick of the router) and counts what came back: successes per answering instance and failures
/// (any exception or non-success status), with the first failures kept for the assertion message.
/// </summary>
internal sealed class RequestLoop : IAsyncDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly ConcurrentDictionary<string, int> _answeredBy = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private long _succeeded;
    private long _failed;

    public RequestLoop(ServiceEndpoint endpoint, string path)
    {
        var url = new Uri($"http://{endpoint}{path}");
        _loop = Task.Run(() => RunAsync(url, _stop.Token));
    }

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Successful answers per body's last word (SampleService answers <c>/version</c> with "version instance").</summary>
    public IReadOnlyDictionary<string, int> AnsweredBy => _answeredBy;

    public string DescribeFailures() => Failed == 0 ? "none" : $"{Failed} failed, first: " + string.Join(" | ", _failures.Take(5));

    public Task WaitForSuccessesAsync(long count, string what, TimeSpan? timeout = null)
        => Eventually.UntilAsync(() => Succeeded >= count || _loop.IsCompleted, what, timeout);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _client.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(Uri url, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var response = await _client.GetAsync(url, cancellationToken);
                var body = (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _succeeded);
                    _answeredBy.AddOrUpdate(body[(body.LastIndexOf(' ') + 1)..], 1, static (_, n) => n + 1);
                }
                else
                {
                    Fail($"{(int)response.StatusCode}: {body}");
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                Fail(ex.GetType().Name + ": " + ex.Message + (ex.InnerException is { } inner ? " (" + inner.Message + ")" : ""));
            }
        }
    }

    private void Fail(string what)
    {
        Interlocked.Increment(ref _failed);
        if (_failures.Count < 20)
        {
            _failures.Enqueue(what);
        }
    }
}
