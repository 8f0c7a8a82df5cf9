namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>Where the Docker Engine listens: a unix socket or a TCP address, parsed from a <c>DOCKER_HOST</c>-style URI.</summary>
internal sealed record DockerEndpoint
{
    public const string DefaultUnixSocketPath = "/var/run/docker.sock";

    public const string DockerHostVariable = "DOCKER_HOST";

    private DockerEndpoint(string original, string? unixSocketPath, string? host, int port)
    {
        Original = original;
        UnixSocketPath = unixSocketPath;
        Host = host;
        Port = port;
    }

    /// <summary>The URI as given, for messages.</summary>
    public string Original { get; }

    /// <summary>The socket path for <c>unix://</c> endpoints, otherwise <see langword="null"/>.</summary>
    public string? UnixSocketPath { get; }

    /// <summary>The host for <c>tcp://</c> endpoints, otherwise <see langword="null"/>.</summary>
    public string? Host { get; }

    /// <summary>The port for <c>tcp://</c> endpoints.</summary>
    public int Port { get; }

    public bool IsUnixSocket => UnixSocketPath is not null;

    /// <summary>The base address for requests: the TCP address, or a placeholder host for unix sockets (the connection ignores it).</summary>
    public Uri BaseAddress => IsUnixSocket ? new Uri("http://docker.sock/") : new UriBuilder(Uri.UriSchemeHttp, Host, Port, "/").Uri;

    /// <summary>Resolves the endpoint to use: the configured one, else <c>DOCKER_HOST</c>, else the default unix socket.</summary>
    public static DockerEndpoint Resolve(string? configured, Func<string, string?>? getEnvironmentVariable = null)
    {
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        var text = !string.IsNullOrWhiteSpace(configured) ? configured : getEnvironmentVariable(DockerHostVariable);
        if (string.IsNullOrWhiteSpace(text))
        {
            text = "unix://" + DefaultUnixSocketPath;
        }

        return TryParse(text, out var endpoint, out var error)
            ? endpoint
            : throw OrchestrationException.InvalidConfiguration("Docker Engine endpoint", [error]);
    }

    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DockerEndpoint? endpoint, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        endpoint = null;
        error = "";
        var trimmed = text.Trim();
        if (trimmed.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            var path = trimmed["unix://".Length..];
            if (path.Length == 0 || path[0] != '/')
            {
                error = $"'{text}' must name an absolute socket path, for example unix:///var/run/docker.sock.";
                return false;
            }

            endpoint = new DockerEndpoint(trimmed, path, null, 0);
            return true;
        }

        if (trimmed.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            var withHttp = "http://" + trimmed[(trimmed.IndexOf("://", StringComparison.Ordinal) + 3)..];
            if (!Uri.TryCreate(withHttp, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host) || uri.AbsolutePath is not ("/" or ""))
            {
                error = $"'{text}' is not a valid TCP endpoint; use tcp://host:port, for example tcp://127.0.0.1:2375.";
                return false;
            }

            // Docker's own default for tcp:// without a port is 2375 (plain HTTP).
            var port = trimmed.AsSpan(trimmed.IndexOf("://", StringComparison.Ordinal) + 3).Contains(':') ? uri.Port : 2375;
            endpoint = new DockerEndpoint(trimmed, null, uri.Host, port);
            return true;
        }

        if (trimmed.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase)
            || trimmed.StartsWith("npipe://", StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{text}' uses a scheme the SDK's Docker client does not support; use unix:///path/to/docker.sock or tcp://host:port.";
            return false;
        }

        error = $"'{text}' is not a Docker endpoint; use unix:///path/to/docker.sock or tcp://host:port.";
        return false;
    }

    /// <summary>The endpoint as Docker.DotNet takes it: <c>unix:///path</c> or <c>http://host:port</c>.</summary>
    public Uri LibraryUri => IsUnixSocket ? new Uri("unix://" + UnixSocketPath) : BaseAddress;

    public override string ToString() => Original;
}
