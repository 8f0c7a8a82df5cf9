using System.Net.Http.Headers;
using Bpi.Orchestration.Components.Docker.Engine.Models;
using Bpi.Orchestration.Components.Docker.Engine.Streams;

namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>Images: inspect, list, import, load, remove.</summary>
internal sealed partial class DockerEngineClient
{
    /// <summary><c>GET /images/{name}/json</c>.</summary>
    /// <exception cref="DockerEngineException">The image is not present (<see cref="OrchestrationErrorKind.NotFound"/>).</exception>
    public Task<ImageInspectResponse> InspectImageAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return GetJsonAsync(
            new DockerCall(HttpMethod.Get, $"/images/{Escape(name)}/json") { ResourceKind = "image", ResourceName = name },
            DockerJsonContext.Default.ImageInspectResponse,
            cancellationToken);
    }

    /// <summary><c>GET /images/json</c>, optionally only images carrying the given labels.</summary>
    public async Task<IReadOnlyList<ImageSummary>> ListImagesAsync(IReadOnlyDictionary<string, string?>? labels = null, CancellationToken cancellationToken = default)
    {
        var query = labels is { Count: > 0 } ? "?filters=" + LabelFilters(labels) : "";
        return await GetJsonAsync(new DockerCall(HttpMethod.Get, "/images/json" + query), DockerJsonContext.Default.ListImageSummary, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>POST /images/create?fromSrc=-</c>: imports a root filesystem tarball as <paramref name="repository"/>:<paramref name="tag"/>,
    /// applying Dockerfile <paramref name="changes"/> (CMD, ENTRYPOINT, ENV, EXPOSE, USER, WORKDIR, HEALTHCHECK, …).
    /// </summary>
    /// <returns>The new image's id.</returns>
    public async Task<string> ImportImageAsync(Stream rootFilesystemTar, string repository, string tag, IEnumerable<string>? changes = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rootFilesystemTar);
        ArgumentException.ThrowIfNullOrWhiteSpace(repository);
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        var query = "?fromSrc=-&repo=" + Escape(repository) + "&tag=" + Escape(tag)
            + string.Concat((changes ?? []).Select(change => "&changes=" + Escape(change)));
        var messages = await SendProgressStreamAsync(
            new DockerCall(HttpMethod.Post, "/images/create" + query)
            {
                Content = TarBody(rootFilesystemTar),
                ResourceKind = "image",
                ResourceName = repository + ":" + tag,
                Timeout = Timeout.InfiniteTimeSpan,
                Retry = rootFilesystemTar.CanSeek,
            },
            cancellationToken).ConfigureAwait(false);

        // The import answers with the new image id as the status of its last message.
        return messages.LastOrDefault(m => m.Status?.StartsWith("sha256:", StringComparison.Ordinal) == true)?.Status
            ?? (await InspectImageAsync(repository + ":" + tag, cancellationToken).ConfigureAwait(false)).Id;
    }

    /// <summary><c>POST /images/load</c>: loads images from a <c>docker save</c> tarball.</summary>
    /// <returns>The engine's progress lines, for example <c>Loaded image: name:tag</c>.</returns>
    public async Task<IReadOnlyList<string>> LoadImageAsync(Stream imageTar, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imageTar);
        var messages = await SendProgressStreamAsync(
            new DockerCall(HttpMethod.Post, "/images/load?quiet=1")
            {
                Content = TarBody(imageTar),
                ResourceKind = "image",
                Timeout = Timeout.InfiniteTimeSpan,
                Retry = imageTar.CanSeek,
            },
            cancellationToken).ConfigureAwait(false);
        return messages.Select(m => (m.Stream ?? m.Status ?? "").Trim()).Where(s => s.Length > 0).ToList();
    }

    /// <summary><c>DELETE /images/{name}</c>.</summary>
    public async Task RemoveImageAsync(string name, bool force = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await SendForStatusAsync(
            new DockerCall(HttpMethod.Delete, $"/images/{Escape(name)}" + Query(("force", Bool(force)))) { ResourceKind = "image", ResourceName = name },
            cancellationToken).ConfigureAwait(false);
    }

    private static Func<HttpContent> TarBody(Stream tar)
    {
        var start = tar.CanSeek ? tar.Position : 0;
        return () =>
        {
            if (tar.CanSeek)
            {
                tar.Position = start;
            }

            var content = new BorrowedStreamContent(tar);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
            return content;
        };
    }

    /// <summary>Sends a call whose answer is a JSON progress stream; an <c>error</c> message in the stream (the status is already 200 then) becomes an exception.</summary>
    private async Task<List<JsonProgressMessage>> SendProgressStreamAsync(DockerCall call, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(call with { Streaming = true }, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var messages = new List<JsonProgressMessage>();
        await using (stream.ConfigureAwait(false))
        {
            await foreach (var message in DockerJsonStreamReader.ReadAsync(stream, DockerJsonContext.Default.JsonProgressMessage, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var error = message.ErrorDetail?.Message ?? message.Error;
                if (!string.IsNullOrEmpty(error))
                {
                    throw new DockerEngineException(
                        OrchestrationErrorKind.InvalidConfiguration,
                        $"The Docker Engine failed {call.Method} {call.Path.Split('?')[0]} for {call.ResourceKind} {call.ResourceName}: {error}",
                        (int)response.StatusCode, error, call.ResourceKind);
                }

                messages.Add(message);
            }
        }

        return messages;
    }

    /// <summary>Sends a stream the caller owns: unlike <see cref="StreamContent"/>, disposing the request leaves the stream open.</summary>
    private sealed class BorrowedStreamContent(Stream source) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken) =>
            source.CopyToAsync(stream, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = source.CanSeek ? source.Length - source.Position : 0;
            return source.CanSeek;
        }
    }
}
