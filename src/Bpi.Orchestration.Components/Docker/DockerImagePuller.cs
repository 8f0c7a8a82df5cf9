using System.Globalization;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Bpi.Orchestration.Components.Docker.Engine;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>
/// Makes a component's image present on the engine as its <see cref="ComponentSpec.PullPolicy"/> says: pulls when
/// absent (or always), with the registry's credentials from <see cref="DockerRuntimeOptions.RegistryCredentials"/> or the
/// Docker config, reporting progress to <see cref="DockerRuntimeOptions.OnPullProgress"/>.
/// </summary>
internal sealed class DockerImagePuller(DockerEngine client, DockerRuntimeOptions options, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>The image, pulled first when the policy asks for it.</summary>
    /// <param name="image">The image reference, as the component names it.</param>
    /// <param name="policy">When to pull.</param>
    /// <param name="progress">Where a pull's progress goes as <c>pull &lt;image&gt;: …</c> lines (the deployment's progress events), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the inspection and the pull.</param>
    /// <exception cref="DockerEngineException"><see cref="OrchestrationErrorKind.ImagePullFailed"/>: the pull failed, or the image is absent and the policy is <see cref="ImagePullPolicy.Never"/>.</exception>
    public async Task<ImageInspectResponse> EnsureAsync(string image, ImagePullPolicy policy, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        if (policy == ImagePullPolicy.Always)
        {
            await PullAsync(image, "pullPolicy Always", progress, cancellationToken).ConfigureAwait(false);
            return await client.InspectImageAsync(image, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await client.InspectImageAsync(image, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerEngineException exception) when (exception.Kind == OrchestrationErrorKind.NotFound)
        {
            if (policy == ImagePullPolicy.Never)
            {
                throw new DockerEngineException(
                    OrchestrationErrorKind.ImagePullFailed,
                    $"Image '{image}' is not present on the Docker Engine at {client.Endpoint} and the component's pullPolicy is Never. Pull, load or import it first, or use pullPolicy IfNotPresent.",
                    exception.StatusCode, exception.EngineMessage, "image", innerException: exception);
            }
        }

        await PullAsync(image, "not present", progress, cancellationToken).ConfigureAwait(false);
        return await client.InspectImageAsync(image, cancellationToken).ConfigureAwait(false);
    }

    private async Task PullAsync(string image, string reason, IProgress<string>? lines, CancellationToken cancellationToken)
    {
        var registry = ImageReference.RegistryHost(image);
        Log.PullingImage(logger, image, registry, reason);
        lines?.Report($"pull {image}: pulling from {registry} ({reason})");
        var started = timeProvider.GetTimestamp();
        var callback = options.OnPullProgress;
        var said = new HashSet<(string?, string)>();
        var progress = callback is null && lines is null
            ? null
            : new Relay(message =>
            {
                if (message.Error is not null || (message.Status is not { Length: > 0 } && message.Progress is null))
                {
                    return;
                }

                callback?.Invoke(new ImagePullProgress
                {
                    Image = image,
                    Layer = message.ID,
                    Status = message.Status ?? "",
                    Current = message.Progress?.Current,
                    Total = message.Progress?.Total,
                });

                // One line per layer and status (not one per chunk downloaded): "pull <image>: <layer>: Downloading 1234 bytes".
                var status = message.Status ?? "";
                bool first;
                lock (said)
                {
                    first = said.Add((message.ID, status));
                }

                if (lines is not null && first && status.Length > 0)
                {
                    var size = message.Progress?.Total is > 0 and var total ? string.Create(CultureInfo.InvariantCulture, $" {total} bytes") : "";
                    lines.Report(message.ID is { Length: > 0 } layer && !status.Contains(layer, StringComparison.Ordinal)
                        ? $"pull {image}: {layer}: {status}{size}"
                        : $"pull {image}: {status}{size}");
                }
            });
        await client.PullImageAsync(image, FindCredentials(registry), progress, cancellationToken).ConfigureAwait(false);
        var elapsed = timeProvider.GetElapsedTime(started);
        Log.PulledImage(logger, image, elapsed);
        lines?.Report(string.Create(CultureInfo.InvariantCulture, $"pull {image}: done in {elapsed.TotalSeconds:0.0} s"));
    }

    /// <summary>The credentials for a registry host: the options' first, then the Docker config's <c>auths</c>.</summary>
    internal AuthConfig? FindCredentials(string registry)
    {
        if (options.RegistryCredentials.TryGetValue(registry, out var given)
            || (registry == ImageReference.DockerHub && options.RegistryCredentials.TryGetValue(ImageReference.DockerHubConfigKey, out given)))
        {
            return new AuthConfig { Username = given.Username, Password = given.Password, ServerAddress = registry };
        }

        var path = options.DockerConfigPath ?? DefaultConfigPath();
        if (path is null || !File.Exists(path))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (!document.RootElement.TryGetProperty("auths", out var auths) || auths.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            foreach (var entry in auths.EnumerateObject())
            {
                if (!SameRegistry(entry.Name, registry))
                {
                    continue;
                }

                var username = entry.Value.TryGetProperty("username", out var u) ? u.GetString() : null;
                var password = entry.Value.TryGetProperty("password", out var p) ? p.GetString() : null;
                if (entry.Value.TryGetProperty("auth", out var auth) && auth.GetString() is { Length: > 0 } encoded)
                {
                    var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
                    var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                    if (colon > 0)
                    {
                        (username, password) = (decoded[..colon], decoded[(colon + 1)..]);
                    }
                }

                var token = entry.Value.TryGetProperty("identitytoken", out var t) ? t.GetString() : null;
                if (username is not null || token is not null)
                {
                    return new AuthConfig { Username = username!, Password = password!, IdentityToken = token!, ServerAddress = registry };
                }
            }
        }
        catch (Exception exception) when (exception is JsonException or FormatException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Log.DockerConfigUnreadable(logger, path, exception.Message);
        }

        return null;
    }

    private static string? DefaultConfigPath()
    {
        var directory = Environment.GetEnvironmentVariable("DOCKER_CONFIG");
        if (string.IsNullOrEmpty(directory))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home))
            {
                return null;
            }

            directory = Path.Combine(home, ".docker");
        }

        return Path.Combine(directory, "config.json");
    }

    /// <summary>Whether a config key (<c>host</c>, <c>https://host/v1/</c>) names the registry host.</summary>
    private static bool SameRegistry(string key, string registry)
    {
        var host = key;
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }

        var slash = host.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            host = host[..slash];
        }

        return string.Equals(host, registry, StringComparison.OrdinalIgnoreCase)
            || (registry == ImageReference.DockerHub && host is "index.docker.io" or "registry-1.docker.io");
    }

    private sealed class Relay(Action<JSONMessage> report) : IProgress<JSONMessage>
    {
        public void Report(JSONMessage value) => report(value);
    }
}
