using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security.Checks;

namespace Bpi.Orchestration.Security.Runtime;

/// <summary>
/// An <see cref="IContainerInspector"/> for the Docker Engine: lists a deployment's containers by label and reads each
/// with <c>GET /containers/{id}/json</c>, then <see cref="DockerInspectParser"/>. It speaks only those two read-only calls
/// (unversioned paths, so any engine version answers) and keeps no connection state beyond its <see cref="HttpClient"/>.
/// </summary>
public sealed class DockerContainerInspector : IContainerInspector, IDisposable
{
    private const string DefaultSocket = "/var/run/docker.sock";
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;

    /// <summary>Creates an inspector.</summary>
    /// <param name="options">Where the engine is.</param>
    /// <param name="timeProvider">The clock of request timeouts; <see langword="null"/> for the system clock.</param>
    public DockerContainerInspector(DockerContainerInspectorOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = timeProvider ?? TimeProvider.System;
        _timeout = options.RequestTimeout;
        var host = options.Host ?? Environment.GetEnvironmentVariable("DOCKER_HOST") ?? "unix://" + DefaultSocket;
        var handler = new SocketsHttpHandler();
        Uri baseAddress;
        if (host.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            var path = host["unix://".Length..];
            handler.ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
            baseAddress = new Uri("http://docker.local/");
        }
        else if (host.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
        {
            baseAddress = new Uri("http://" + host["tcp://".Length..].TrimEnd('/') + "/");
        }
        else
        {
            handler.Dispose();
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"Docker host '{host}' is neither unix:// nor tcp://; set DockerContainerInspectorOptions.Host or DOCKER_HOST.");
        }

        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<ContainerProfile>> InspectDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        var filters = JsonSerializer.Serialize(new Dictionary<string, string[]> { ["label"] = [WorkloadLabels.Deployment + "=" + deploymentId] });
        using var list = await GetJsonAsync("containers/json?all=true&filters=" + Uri.EscapeDataString(filters), cancellationToken).ConfigureAwait(false);
        var ids = list.RootElement.EnumerateArray().Select(c => c.GetProperty("Id").GetString()!).Order(StringComparer.Ordinal).ToList();
        var profiles = new List<ContainerProfile>(ids.Count);
        foreach (var id in ids)
        {
            profiles.Add(await InspectContainerAsync(id, cancellationToken).ConfigureAwait(false));
        }

        return profiles;
    }

    /// <summary>Inspects one container by id or name.</summary>
    /// <param name="containerId">The container.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Its profile.</returns>
    public async ValueTask<ContainerProfile> InspectContainerAsync(string containerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(containerId);
        using var document = await GetJsonAsync("containers/" + Uri.EscapeDataString(containerId) + "/json", cancellationToken).ConfigureAwait(false);
        return DockerInspectParser.Parse(document.RootElement);
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private async Task<JsonDocument> GetJsonAsync(string path, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _http.GetAsync(new Uri(path, UriKind.Relative), linked.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"The Docker Engine has no container for '{path}'; it may have been removed meanwhile.");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new OrchestrationException(OrchestrationErrorKind.RuntimeUnavailable, $"The Docker Engine answered {(int)response.StatusCode} to GET /{path}; check the engine's log.");
            }

            var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                return await JsonDocument.ParseAsync(stream, cancellationToken: linked.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException || (ex is OperationCanceledException && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested))
        {
            throw new OrchestrationException(OrchestrationErrorKind.RuntimeUnavailable, $"The Docker Engine did not answer GET /{path}: {ex.Message}. Check that dockerd runs and DOCKER_HOST points at it.", ex);
        }
    }
}
