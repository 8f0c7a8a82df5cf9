using System.Net;
using System.Text;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// A witness behind an HTTP endpoint (a webhook). Publishing POSTs the signed note to <see cref="Endpoint"/> as
/// <c>text/plain; charset=utf-8</c> and expects a 2xx status; reading GETs <c>Endpoint?origin=&lt;origin&gt;</c> and
/// expects 200 with the newest signed note it holds for that log, or 404/204 when it holds none. The receiver should
/// keep every note it accepts, answer a repeated note with success, and may refuse (4xx) a note that shrinks or forks
/// the log. Timeouts and retries are the <see cref="HttpClient"/>'s: configure it (for example through
/// IHttpClientFactory) before passing it in.
/// </summary>
public sealed class HttpAuditCheckpointWitness : IAuditCheckpointWitness
{
    private readonly HttpClient _client;

    /// <summary>Creates a witness that talks to <paramref name="endpoint"/> through <paramref name="client"/>.</summary>
    /// <param name="client">The client; not disposed by the witness.</param>
    /// <param name="endpoint">The absolute http or https URL of the witness endpoint.</param>
    public HttpAuditCheckpointWitness(HttpClient client, Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The witness endpoint '{endpoint}' must be an absolute http or https URL.", nameof(endpoint));
        }

        _client = client;
        Endpoint = endpoint;
    }

    /// <summary>The witness endpoint.</summary>
    public Uri Endpoint { get; }

    /// <inheritdoc />
    public string Description => Endpoint.GetLeftPart(UriPartial.Path);

    /// <inheritdoc />
    public async ValueTask PublishAsync(SignedCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var content = new StringContent(checkpoint.NoteText, Encoding.UTF8, "text/plain");
        HttpResponseMessage response;
        try
        {
            response = await _client.PostAsync(Endpoint, content, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new AuditStoreException($"The witness {Description} could not be reached: {ex.Message}. The next checkpoint is published again.", ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new AuditStoreException($"The witness {Description} refused the checkpoint at tree size {checkpoint.TreeSize} with HTTP {(int)response.StatusCode}. If it says the log shrank or forked, run AuditVerifier.VerifyDirectoryAsync with this witness.");
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<SignedCheckpoint?> GetLatestAsync(string origin, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(origin);
        var uri = new UriBuilder(Endpoint) { Query = "origin=" + Uri.EscapeDataString(origin) }.Uri;
        try
        {
            using var response = await _client.GetAsync(uri, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.NoContent)
            {
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new AuditStoreException($"The witness {Description} answered HTTP {(int)response.StatusCode} when asked for its newest checkpoint; it cannot vouch for the log until it answers.");
            }

            var note = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return SignedCheckpoint.Parse(note, out var error) is { } checkpoint && string.Equals(checkpoint.Origin, origin, StringComparison.Ordinal)
                ? checkpoint
                : throw new AuditStoreException($"The witness {Description} returned something that is not a checkpoint of '{origin}' ({error ?? "another origin"}).");
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new AuditStoreException($"The witness {Description} could not be reached: {ex.Message}; it cannot vouch for the log until it answers.", ex);
        }
    }
}
