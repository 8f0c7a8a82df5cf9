using Bpi.Orchestration.Components.Docker.Engine.Models;

namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>Networks (create, inspect, list, remove, connect) and volumes (create, list, remove).</summary>
internal sealed partial class DockerEngineClient
{
    /// <summary><c>POST /networks/create</c>.</summary>
    /// <exception cref="DockerEngineException">A network of that name exists (<see cref="OrchestrationErrorKind.Conflict"/>).</exception>
    public async Task<string> CreateNetworkAsync(NetworkCreateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = await GetJsonAsync(
            new DockerCall(HttpMethod.Post, "/networks/create")
            {
                Content = Json(request, DockerJsonContext.Default.NetworkCreateRequest),
                ResourceKind = "network",
                ResourceName = request.Name,
            },
            DockerJsonContext.Default.NetworkCreateResponse,
            cancellationToken).ConfigureAwait(false);
        return response.Id;
    }

    /// <summary><c>GET /networks/{id}</c> by id or name.</summary>
    public Task<NetworkResource> InspectNetworkAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(idOrName);
        return GetJsonAsync(
            new DockerCall(HttpMethod.Get, $"/networks/{Escape(idOrName)}") { ResourceKind = "network", ResourceName = idOrName },
            DockerJsonContext.Default.NetworkResource,
            cancellationToken);
    }

    /// <summary><c>GET /networks</c> filtered by labels.</summary>
    public async Task<IReadOnlyList<NetworkResource>> ListNetworksAsync(IReadOnlyDictionary<string, string?> labels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var query = labels.Count > 0 ? "?filters=" + LabelFilters(labels) : "";
        return await GetJsonAsync(new DockerCall(HttpMethod.Get, "/networks" + query), DockerJsonContext.Default.ListNetworkResource, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>DELETE /networks/{id}</c>.</summary>
    public async Task RemoveNetworkAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(idOrName);
        await SendForStatusAsync(
            new DockerCall(HttpMethod.Delete, $"/networks/{Escape(idOrName)}") { ResourceKind = "network", ResourceName = idOrName },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>POST /networks/{id}/connect</c>: attaches a container, reachable under <paramref name="aliases"/>.</summary>
    public async Task ConnectNetworkAsync(string network, string containerId, IReadOnlyList<string>? aliases = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(containerId);
        var body = new NetworkConnectRequest { Container = containerId, EndpointConfig = aliases is { Count: > 0 } ? new EndpointSettings { Aliases = aliases } : null };
        await SendForStatusAsync(
            new DockerCall(HttpMethod.Post, $"/networks/{Escape(network)}/connect")
            {
                Content = Json(body, DockerJsonContext.Default.NetworkConnectRequest),
                ResourceKind = "network",
                ResourceName = network,
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>POST /volumes/create</c>; creating an existing volume returns it unchanged.</summary>
    public Task<VolumeResource> CreateVolumeAsync(VolumeCreateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return GetJsonAsync(
            new DockerCall(HttpMethod.Post, "/volumes/create")
            {
                Content = Json(request, DockerJsonContext.Default.VolumeCreateRequest),
                ResourceKind = "volume",
                ResourceName = request.Name,
            },
            DockerJsonContext.Default.VolumeResource,
            cancellationToken);
    }

    /// <summary><c>GET /volumes</c> filtered by labels.</summary>
    public async Task<IReadOnlyList<VolumeResource>> ListVolumesAsync(IReadOnlyDictionary<string, string?> labels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var query = labels.Count > 0 ? "?filters=" + LabelFilters(labels) : "";
        var response = await GetJsonAsync(new DockerCall(HttpMethod.Get, "/volumes" + query), DockerJsonContext.Default.VolumeListResponse, cancellationToken).ConfigureAwait(false);
        return response.Volumes ?? [];
    }

    /// <summary><c>DELETE /volumes/{name}</c>.</summary>
    public async Task RemoveVolumeAsync(string name, bool force = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await SendForStatusAsync(
            new DockerCall(HttpMethod.Delete, $"/volumes/{Escape(name)}" + Query(("force", Bool(force)))) { ResourceKind = "volume", ResourceName = name },
            cancellationToken).ConfigureAwait(false);
    }
}
