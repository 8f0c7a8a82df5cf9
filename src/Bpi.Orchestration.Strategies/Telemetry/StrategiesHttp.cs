using System.Net;
using Polly;
using Polly.Retry;

namespace Bpi.Orchestration.Strategies.Telemetry;

/// <summary>
/// The HTTP clients the package owns (one for HTTP/1.1 and TLS, one for cleartext HTTP/2 gRPC), built once, with an
/// infinite client timeout (every call has its own), and the named retry pipeline for webhooks and metric queries.
/// </summary>
internal sealed class StrategiesHttp : IDisposable
{
    public const string RetryPipelineName = "bpi-orchestration-strategies-http";

    public StrategiesHttp(TimeProvider? time = null)
    {
        Client = new HttpClient(NewHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        H2c = new HttpClient(NewHandler(), disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        Retry = new ResiliencePipelineBuilder { Name = RetryPipelineName, TimeProvider = time ?? TimeProvider.System }
            .AddRetry(new RetryStrategyOptions
            {
                Name = "transient-http-fault",
                MaxRetryAttempts = 2,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>(IsTransientHttpFault),
            })
            .Build();
    }

    public HttpClient Client { get; }

    /// <summary>
    /// A token source that cancels after <paramref name="timeout"/> of real time. Network calls are bounded on the system
    /// clock because the I/O they wait for runs in real time; a manual test clock must not cut them short. Everything
    /// the orchestrator schedules itself (intervals, pauses, deadlines) stays on its <see cref="TimeProvider"/>.
    /// </summary>
    public static CancellationTokenSource NetworkTimeout(TimeSpan timeout) => new(timeout);

    public HttpClient H2c { get; }

    public ResiliencePipeline Retry { get; }

    public void Dispose()
    {
        Client.Dispose();
        H2c.Dispose();
    }

    /// <summary>Connection failures and 5xx answers (thrown by callers as <see cref="HttpRequestException"/> with a status) are transient.</summary>
    private static bool IsTransientHttpFault(HttpRequestException exception)
        => exception.StatusCode is null || (int)exception.StatusCode >= 500;

    private static SocketsHttpHandler NewHandler() => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AllowAutoRedirect = false,
        UseCookies = false,
    };
}
