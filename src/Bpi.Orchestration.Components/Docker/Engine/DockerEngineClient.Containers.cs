using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Bpi.Orchestration.Components.Docker.Engine.Models;
using Bpi.Orchestration.Components.Docker.Engine.Streams;

namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>Containers: create, start, stop, kill, wait, remove, inspect, list, logs, stats.</summary>
internal sealed partial class DockerEngineClient
{
    private const string Container = "container";

    /// <summary><c>POST /containers/create</c>. The request may carry secret environment values: it is never logged.</summary>
    /// <exception cref="DockerEngineException">The image is missing (<see cref="OrchestrationErrorKind.NotFound"/>) or the name is taken (<see cref="OrchestrationErrorKind.Conflict"/>).</exception>
    public async Task<ContainerCreateResponse> CreateContainerAsync(string? name, ContainerCreateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = new DockerCall(HttpMethod.Post, "/containers/create" + Query(("name", name)))
        {
            Content = Json(request, DockerJsonContext.Default.ContainerCreateRequest),
            ResourceKind = Container,
            ResourceName = name ?? request.Image,
        };
        return await GetJsonAsync(call, DockerJsonContext.Default.ContainerCreateResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>POST /containers/{id}/start</c>.</summary>
    /// <returns><see langword="true"/> when started; <see langword="false"/> when it was already running (HTTP 304).</returns>
    public async Task<bool> StartContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var status = await SendForStatusAsync(
            new DockerCall(HttpMethod.Post, $"/containers/{Escape(id)}/start") { ResourceKind = Container, ResourceName = id },
            cancellationToken).ConfigureAwait(false);
        return status != HttpStatusCode.NotModified;
    }

    /// <summary><c>POST /containers/{id}/stop</c>: SIGTERM, then SIGKILL after <paramref name="timeout"/>.</summary>
    /// <returns><see langword="true"/> when stopped; <see langword="false"/> when it was not running (HTTP 304).</returns>
    public async Task<bool> StopContainerAsync(string id, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var seconds = (int)Math.Ceiling(Math.Max(0, timeout.TotalSeconds));
        var status = await SendForStatusAsync(
            new DockerCall(HttpMethod.Post, $"/containers/{Escape(id)}/stop" + Query(("t", seconds.ToString(CultureInfo.InvariantCulture))))
            {
                ResourceKind = Container,
                ResourceName = id,
                Timeout = Options.RequestTimeout + TimeSpan.FromSeconds(seconds),
            },
            cancellationToken).ConfigureAwait(false);
        return status != HttpStatusCode.NotModified;
    }

    /// <summary><c>POST /containers/{id}/kill</c>.</summary>
    /// <exception cref="DockerEngineException">The container is not running (<see cref="OrchestrationErrorKind.Conflict"/>).</exception>
    public async Task KillContainerAsync(string id, string signal = "SIGKILL", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        await SendForStatusAsync(
            new DockerCall(HttpMethod.Post, $"/containers/{Escape(id)}/kill" + Query(("signal", signal))) { ResourceKind = Container, ResourceName = id },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>POST /containers/{id}/wait</c>: blocks until the condition holds (<c>not-running</c>, <c>next-exit</c>, <c>removed</c>); no timeout of its own.</summary>
    public async Task<ContainerWaitResponse> WaitContainerAsync(string id, string condition = "not-running", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var call = new DockerCall(HttpMethod.Post, $"/containers/{Escape(id)}/wait" + Query(("condition", condition)))
        {
            ResourceKind = Container,
            ResourceName = id,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        return await GetJsonAsync(call, DockerJsonContext.Default.ContainerWaitResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>DELETE /containers/{id}</c>.</summary>
    /// <exception cref="DockerEngineException">The container does not exist (<see cref="OrchestrationErrorKind.NotFound"/>) or is running and <paramref name="force"/> is false.</exception>
    public async Task RemoveContainerAsync(string id, bool force = false, bool removeVolumes = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        await SendForStatusAsync(
            new DockerCall(HttpMethod.Delete, $"/containers/{Escape(id)}" + Query(("force", Bool(force)), ("v", Bool(removeVolumes))))
            {
                ResourceKind = Container,
                ResourceName = id,
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>GET /containers/{id}/json</c>.</summary>
    public Task<ContainerInspectResponse> InspectContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return GetJsonAsync(
            new DockerCall(HttpMethod.Get, $"/containers/{Escape(id)}/json") { ResourceKind = Container, ResourceName = id },
            DockerJsonContext.Default.ContainerInspectResponse,
            cancellationToken);
    }

    /// <summary><c>GET /containers/{id}/json</c>, the engine's answer unchanged (JSON text).</summary>
    public async Task<string> InspectContainerJsonAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        using var response = await SendAsync(
            new DockerCall(HttpMethod.Get, $"/containers/{Escape(id)}/json") { ResourceKind = Container, ResourceName = id },
            cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>GET /containers/json</c> filtered by labels (value <see langword="null"/>: any value).</summary>
    /// <param name="labels">Every label a container must carry.</param>
    /// <param name="all">Also stopped containers.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(IReadOnlyDictionary<string, string?> labels, bool all = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var query = "?all=" + Bool(all) + (labels.Count > 0 ? "&filters=" + LabelFilters(labels) : "");
        return await GetJsonAsync(new DockerCall(HttpMethod.Get, "/containers/json" + query), DockerJsonContext.Default.ListContainerSummary, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>GET /containers/{id}/logs</c> as lines. The stream is demultiplexed unless the container has a TTY, which is
    /// looked up when <paramref name="tty"/> is not given (API 1.41 gives both kinds the same content type).
    /// </summary>
    /// <param name="id">The container.</param>
    /// <param name="follow">Keep streaming new output until cancelled or the container stops.</param>
    /// <param name="timestamps">Prefix each line with the engine's timestamp (parsed into <see cref="DockerLogLine.Timestamp"/>).</param>
    /// <param name="tail">Only the last this many lines; <see langword="null"/> for all.</param>
    /// <param name="tty">Whether the container has a TTY, when the caller knows.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    public async IAsyncEnumerable<DockerLogLine> StreamLogsAsync(
        string id,
        bool follow = false,
        bool timestamps = false,
        int? tail = null,
        bool? tty = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var raw = tty ?? (await InspectContainerAsync(id, cancellationToken).ConfigureAwait(false)).Config?.Tty ?? false;
        var query = Query(
            ("stdout", "1"),
            ("stderr", "1"),
            ("follow", Bool(follow)),
            ("timestamps", Bool(timestamps)),
            ("tail", tail?.ToString(CultureInfo.InvariantCulture) ?? "all"));
        using var response = await SendAsync(
            new DockerCall(HttpMethod.Get, $"/containers/{Escape(id)}/logs" + query) { ResourceKind = Container, ResourceName = id, Streaming = true },
            cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var frames = DockerStreamDemultiplexer.ReadFramesAsync(stream, raw, Options.MaxFrameSize, cancellationToken);
            await foreach (var line in DockerLogLineReader.ReadLinesAsync(frames, timestamps, cancellationToken).ConfigureAwait(false))
            {
                yield return line;
            }
        }
    }

    /// <summary><c>GET /containers/{id}/stats?stream=false</c>: one sample.</summary>
    public Task<ContainerStatsResponse> GetStatsAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);

        // A single sample waits for a second CPU reading; allow for it on top of the call timeout.
        return GetJsonAsync(
            new DockerCall(HttpMethod.Get, $"/containers/{Escape(id)}/stats?stream=0")
            {
                ResourceKind = Container,
                ResourceName = id,
                Timeout = Options.RequestTimeout + TimeSpan.FromSeconds(2),
            },
            DockerJsonContext.Default.ContainerStatsResponse,
            cancellationToken);
    }
}
