using System.Globalization;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Strategies.Analysis;

/// <summary>
/// Sends one request to one instance, for the built-in probe metrics and the statistical judge. The default sends a real
/// HTTP GET to the instance's endpoint, unless a runtime whose instances HTTP cannot reach chose another default with
/// <c>builder.UseDefaultRequestSender&lt;T&gt;()</c> (the Testing package's in-memory runtime answers with its simulated
/// services); a host or test chooses its own through <c>builder.UseRequestSender&lt;T&gt;()</c>.
/// </summary>
public interface IInstanceRequestSender
{
    /// <summary>Sends one request.</summary>
    /// <param name="instance">The instance.</param>
    /// <param name="path">The HTTP path.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>Whether it succeeded and how long it took; a request that could not be sent is a failure, not an exception.</returns>
    ValueTask<RequestSample> SendAsync(WorkloadInstance instance, string path, CancellationToken cancellationToken = default);
}

/// <summary>One request's outcome.</summary>
/// <param name="Success">Whether it succeeded (answered below 500).</param>
/// <param name="Latency">How long it took.</param>
public readonly record struct RequestSample(bool Success, TimeSpan Latency)
{
    /// <summary>
    /// Whether the request never reached the instance (it has no endpoint, the connection was refused, its host name
    /// does not resolve). Such a request counts as failed, but a measurement whose requests all went unanswered this
    /// way is reported as an error that says so, instead of as a 0% success rate.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool Unreached { get; init; }

    /// <summary>A request that never reached the instance (see <see cref="Unreached"/>).</summary>
    /// <param name="latency">How long the attempt took.</param>
    /// <returns>A failed sample marked as unreached.</returns>
    public static RequestSample NotReached(TimeSpan latency) => new(false, latency) { Unreached = true };
}

/// <summary>Sends real HTTP GETs to an instance's first endpoint; times them with the orchestrator's clock.</summary>
internal sealed class HttpInstanceRequestSender(Telemetry.StrategiesHttp http, TimeProvider time) : IInstanceRequestSender
{
    internal static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    public async ValueTask<RequestSample> SendAsync(WorkloadInstance instance, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        if (instance.Endpoint is not { } endpoint)
        {
            return RequestSample.NotReached(TimeSpan.Zero);
        }

        var started = time.GetTimestamp();
        using var timeout = Telemetry.StrategiesHttp.NetworkTimeout(RequestTimeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{endpoint}{path}"));
            using var response = await http.Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            return new RequestSample((int)response.StatusCode < 500, time.GetElapsedTime(started));
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError)
        {
            return RequestSample.NotReached(time.GetElapsedTime(started));
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new RequestSample(false, time.GetElapsedTime(started));
        }
    }
}
