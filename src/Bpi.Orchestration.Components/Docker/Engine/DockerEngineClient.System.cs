using System.Runtime.CompilerServices;
using Bpi.Orchestration.Components.Docker.Engine.Models;
using Bpi.Orchestration.Components.Docker.Engine.Streams;

namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>Ping, version, info, events, and API version negotiation.</summary>
internal sealed partial class DockerEngineClient
{
    /// <summary><c>GET /_ping</c> (unversioned): whether the engine serves its API, and the newest API version it speaks.</summary>
    public async Task<DockerApiVersion?> PingAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendWithRetriesAsync(version: null, new DockerCall(HttpMethod.Get, "/_ping"), cancellationToken).ConfigureAwait(false);
        return response.Headers.TryGetValues("API-Version", out var values) && DockerApiVersion.TryParse(values.FirstOrDefault(), out var version)
            ? version
            : null;
    }

    /// <summary><c>GET /version</c> (unversioned, so it answers whatever API the engine speaks).</summary>
    public Task<VersionResponse> GetVersionAsync(CancellationToken cancellationToken = default) =>
        GetUnversionedJsonAsync(new DockerCall(HttpMethod.Get, "/version"), DockerJsonContext.Default.VersionResponse, cancellationToken);

    /// <summary><c>GET /info</c>.</summary>
    public Task<InfoResponse> GetInfoAsync(CancellationToken cancellationToken = default) =>
        GetJsonAsync(new DockerCall(HttpMethod.Get, "/info"), DockerJsonContext.Default.InfoResponse, cancellationToken);

    /// <summary><c>GET /events</c>: streams events until cancelled (or until <paramref name="until"/>).</summary>
    /// <param name="labels">Only events of objects carrying these labels (value <see langword="null"/>: any value).</param>
    /// <param name="since">Replay events from this moment on.</param>
    /// <param name="until">Stop at this moment.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    public async IAsyncEnumerable<EventMessage> StreamEventsAsync(
        IReadOnlyDictionary<string, string?>? labels = null,
        DateTimeOffset? since = null,
        DateTimeOffset? until = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var query = Query(
            ("since", since?.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("until", until?.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var filters = labels is { Count: > 0 } ? (query.Length == 0 ? "?" : "&") + "filters=" + LabelFilters(labels) : "";
        using var response = await SendAsync(new DockerCall(HttpMethod.Get, "/events" + query + filters) { Streaming = true }, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await foreach (var message in DockerJsonStreamReader.ReadAsync(stream, DockerJsonContext.Default.EventMessage, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                yield return message;
            }
        }
    }

    /// <summary>
    /// Negotiates the API version: <c>/_ping</c> gives the engine's newest API, <c>/version</c> its oldest; the client
    /// speaks min(its own maximum, the engine's maximum) and refuses engines older than 1.41 or whose minimum is above
    /// the client's maximum. With <paramref name="rejected"/> set, the engine has just refused that version: negotiate
    /// again unless another call already did.
    /// </summary>
    private async Task<NegotiatedApi> NegotiateAsync(DockerApiVersion? rejected, CancellationToken cancellationToken)
    {
        await _negotiationGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = Volatile.Read(ref _negotiated);
            if (current is not null && (rejected is null || current.Version != rejected.Value))
            {
                return current;
            }

            var pinged = await PingAsync(cancellationToken).ConfigureAwait(false);
            var version = await GetVersionAsync(cancellationToken).ConfigureAwait(false);
            DockerApiVersion engineMax;
            if (pinged is { } fromPing)
            {
                engineMax = fromPing;
            }
            else if (!DockerApiVersion.TryParse(version.ApiVersion, out engineMax))
            {
                throw new DockerEngineException(
                    OrchestrationErrorKind.RuntimeUnavailable,
                    $"The engine at {Endpoint} did not say which API version it speaks (no API-Version header on /_ping, no ApiVersion in /version). Is it a Docker Engine?",
                    statusCode: null, engineMessage: null);
            }

            DockerApiVersion? engineMin = DockerApiVersion.TryParse(version.MinAPIVersion, out var min) ? min : null;
            if (engineMax < DockerApiVersion.MinimumSupported)
            {
                throw new DockerEngineException(
                    OrchestrationErrorKind.RuntimeUnavailable,
                    $"The Docker Engine at {Endpoint} ({version.Version ?? "unknown release"}) speaks at most API {engineMax}, older than {DockerApiVersion.MinimumSupported}, the oldest this SDK supports. Upgrade the engine to Docker 20.10 or newer.",
                    statusCode: null, engineMessage: null);
            }

            var chosen = DockerApiVersion.Min(Options.MaximumApiVersion, engineMax);
            if (engineMin is { } minimum && minimum > chosen)
            {
                throw new DockerEngineException(
                    OrchestrationErrorKind.RuntimeUnavailable,
                    $"The Docker Engine at {Endpoint} ({version.Version ?? "unknown release"}) requires API {minimum} or newer, but this SDK speaks at most {Options.MaximumApiVersion}. Upgrade Bpi.Orchestration.Components.",
                    statusCode: null, engineMessage: null);
            }

            var negotiated = new NegotiatedApi(chosen, engineMax, engineMin, version.Version);
            Volatile.Write(ref _negotiated, negotiated);
            Log.ApiVersionNegotiated(_logger, Endpoint.ToString(), chosen.ToString(), engineMax.ToString(), version.Version ?? "");
            return negotiated;
        }
        finally
        {
            _negotiationGate.Release();
        }
    }

    private async Task<T> GetUnversionedJsonAsync<T>(DockerCall call, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using var response = await SendWithRetriesAsync(version: null, call, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, typeInfo, cancellationToken).ConfigureAwait(false);
    }
}
