using System.Net.Sockets;
using Xunit;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// Whether a Docker Engine is there for the tests that need one. Without an engine those tests skip with a clear
/// message — unless <c>BPI_REQUIRE_DOCKER=1</c> (set by <c>.ci/engines/docker.sh</c>), which turns the skip into a failure
/// so CI can never pass by skipping. The engine is asked directly (<c>GET /_ping</c> on <c>DOCKER_HOST</c> or the default
/// socket), so this gate depends on no package of the SDK.
/// </summary>
public static class DockerTestEnvironment
{
    /// <summary>The variable that makes an absent engine a failure: <c>BPI_REQUIRE_DOCKER</c>.</summary>
    public const string RequireVariable = "BPI_REQUIRE_DOCKER";

    private static readonly Lazy<Task<string?>> Unavailability = new(ProbeAsync);

    /// <summary>Whether the engine is required (<c>BPI_REQUIRE_DOCKER=1</c>).</summary>
    public static bool IsRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Skips the calling <c>[SkippableFact]</c> when no engine answers, or fails it when the engine is required.</summary>
    public static async Task RequireEngineAsync()
    {
        var problem = await Unavailability.Value;
        if (problem is not null)
        {
            SkipOrFail($"No Docker Engine answers ({problem}); start dockerd (see .ci/engines/docker.sh) or set DOCKER_HOST.");
        }
    }

    /// <summary>Skips the calling <c>[SkippableFact]</c> for a missing prerequisite (<paramref name="missing"/> says which), or fails it when the engine is required.</summary>
    public static void RequirePrerequisite(string? missing)
    {
        if (missing is not null)
        {
            SkipOrFail(missing);
        }
    }

    private static void SkipOrFail(string problem)
    {
        if (IsRequired)
        {
            throw new InvalidOperationException($"{RequireVariable}=1 but the Docker tests cannot run: {problem}");
        }

        Skip.If(true, $"{problem} Set {RequireVariable}=1 to make this a failure.");
    }

    private static async Task<string?> ProbeAsync()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } configured ? configured : "unix:///var/run/docker.sock";
        using var handler = new SocketsHttpHandler();
        Uri address;
        if (host.StartsWith("unix://", StringComparison.Ordinal))
        {
            var path = host["unix://".Length..];
            handler.ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
            address = new Uri("http://docker/_ping");
        }
        else if (host.StartsWith("tcp://", StringComparison.Ordinal))
        {
            address = new Uri("http://" + host["tcp://".Length..].TrimEnd('/') + "/_ping");
        }
        else
        {
            return $"DOCKER_HOST '{host}' is neither unix:// nor tcp://";
        }

        try
        {
            using var client = new HttpClient(handler, disposeHandler: false) { Timeout = TimeSpan.FromSeconds(5) };
            using var response = await client.GetAsync(address);
            return response.IsSuccessStatusCode ? null : $"GET /_ping answered {(int)response.StatusCode}";
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or SocketException or TaskCanceledException)
        {
            return exception.Message;
        }
    }
}
