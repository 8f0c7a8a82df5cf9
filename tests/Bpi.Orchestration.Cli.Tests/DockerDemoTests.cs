using System.Net.Sockets;
using System.Text.Json;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>
/// <c>demo --runtime docker</c> end to end on a real engine. Without an engine the test skips with a clear message —
/// unless <c>BPI_REQUIRE_DOCKER=1</c>, which makes that a failure so CI cannot pass by skipping.
/// </summary>
public sealed class DockerDemoTests : IDisposable
{
    private readonly CliSandbox _cli = new();

    public void Dispose() => _cli.Dispose();

    [SkippableFact]
    public async Task The_demo_on_docker_promotes_v2_rolls_back_v3_and_leaves_nothing_on_the_engine()
    {
        using var engine = DockerApi.Create();
        await RequireEngineAsync();

        var result = await _cli.RunAsync("demo", "--runtime", "docker", "--state-dir", _cli.StateDir, "--output", "json");

        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        var report = result.Json;
        Assert.True(report.GetProperty("passed").GetBoolean(), result.ToString());
        Assert.Equal("docker", report.GetProperty("runtime").GetString());
        Assert.All(report.GetProperty("checks").EnumerateArray(), c => Assert.True(c.GetProperty("passed").GetBoolean(), c.ToString()));

        // Real answers per version through the router: both versions during v2's canary, v3's errors during its
        // canary, and only v2 after the rollback.
        var traffic = report.GetProperty("traffic");
        Assert.True(traffic.GetProperty("v1").GetProperty("1.0.0").GetInt32() > 0, traffic.ToString());
        Assert.True(traffic.GetProperty("canary 2.0.0").GetProperty("1.0.0").GetInt32() > 0, traffic.ToString());
        Assert.True(traffic.GetProperty("canary 2.0.0").GetProperty("2.0.0").GetInt32() > 0, traffic.ToString());
        Assert.True(traffic.GetProperty("canary 3.0.0").GetProperty("3.0.0").GetInt32() > 0, traffic.ToString());
        var after = traffic.GetProperty("after rollback").EnumerateObject().ToList();
        Assert.True(after.Count > 0 && after.All(p => p.Name == "2.0.0"), traffic.ToString());

        // Asked of the engine itself: nothing carrying the run's owner label is left; the image stays.
        var owner = report.GetProperty("owner").GetString()!;
        Assert.StartsWith("bpi-demo-", owner, StringComparison.Ordinal);
        await AssertNothingLeftAsync(engine, owner);
        var image = report.GetProperty("image").GetString()!;
        Assert.Equal(JsonValueKind.Object, (await engine.GetAsync($"/images/{Uri.EscapeDataString(image)}/json")).ValueKind);

        // The audit trail the demo wrote verifies from a new invocation.
        var verify = await _cli.RunAsync("audit", "verify", "-o", "json");
        Assert.True(verify.ExitCode == ExitCodes.Success, verify.ToString());
    }

    [SkippableFact]
    public async Task Interrupting_the_demo_on_docker_still_removes_every_container_network_and_volume()
    {
        using var engine = DockerApi.Create();
        await RequireEngineAsync();

        var result = await _cli.RunAsync(["demo", "--runtime", "docker", "--state-dir", _cli.StateDir], interruptWhen: "==> 2/5");

        Assert.True(result.ExitCode == ExitCodes.Interrupted, result.ToString());
        var match = System.Text.RegularExpressions.Regex.Match(result.Output, @"bpi\.orchestration/owner=(bpi-demo-[0-9a-f]+)");
        Assert.True(match.Success, result.ToString());
        await AssertNothingLeftAsync(engine, match.Groups[1].Value);
    }

    [Fact]
    public async Task Without_an_engine_the_docker_demo_exits_11_with_a_clear_message()
    {
        var previous = Environment.GetEnvironmentVariable("DOCKER_HOST");
        Environment.SetEnvironmentVariable("DOCKER_HOST", "unix://" + Path.Combine(_cli.StateDir, "no-engine.sock"));
        try
        {
            var result = await _cli.RunAsync("demo", "--runtime", "docker", "--state-dir", _cli.StateDir, "--output", "json");

            Assert.True(result.ExitCode == ExitCodes.RuntimeUnavailable, result.ToString());
            Assert.Equal("RuntimeUnavailable", result.Json.GetProperty("kind").GetString());
            Assert.Contains("Docker Engine", result.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DOCKER_HOST", previous);
        }
    }

    private static async Task AssertNothingLeftAsync(DockerApi engine, string owner)
    {
        var filter = Uri.EscapeDataString(JsonSerializer.Serialize(new Dictionary<string, string[]> { ["label"] = [$"bpi.orchestration/owner={owner}"] }));
        Assert.Equal(0, (await engine.GetAsync($"/containers/json?all=1&filters={filter}")).GetArrayLength());
        Assert.Equal(0, (await engine.GetAsync($"/networks?filters={filter}")).GetArrayLength());
        Assert.Equal(0, (await engine.GetAsync($"/volumes?filters={filter}")).GetProperty("Volumes") is { ValueKind: JsonValueKind.Array } volumes ? volumes.GetArrayLength() : 0);
    }

    /// <summary>The shared gate: skips without an engine or <c>/bin/busybox</c>, fails instead when <c>BPI_REQUIRE_DOCKER=1</c>.</summary>
    private static async Task RequireEngineAsync()
    {
        await DockerTestEnvironment.RequireEngineAsync();
        DockerTestEnvironment.RequirePrerequisite(File.Exists("/bin/busybox") ? null : "/bin/busybox is missing (install Debian's busybox-static).");
    }

    /// <summary>A few read-only calls of the Engine API over its unix socket, independent of the SDK's client.</summary>
    internal sealed class DockerApi : IDisposable
    {
        private readonly HttpClient _http;

        private DockerApi(HttpClient http, string endpoint)
        {
            _http = http;
            Endpoint = endpoint;
        }

        public string Endpoint { get; }

        public static DockerApi Create()
        {
            var host = Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } h ? h : "unix:///var/run/docker.sock";
            if (!host.StartsWith("unix://", StringComparison.Ordinal))
            {
                // tcp://host:port
                return new DockerApi(new HttpClient { BaseAddress = new Uri("http://" + host["tcp://".Length..]), Timeout = TimeSpan.FromSeconds(10) }, host);
            }

            var path = host["unix://".Length..];
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            };
            return new DockerApi(new HttpClient(handler) { BaseAddress = new Uri("http://docker/v1.41"), Timeout = TimeSpan.FromSeconds(10) }, host);
        }


        public async Task<JsonElement> GetAsync(string path)
        {
            using var response = await _http.GetAsync(_http.BaseAddress!.AbsolutePath.TrimEnd('/') + path);
            response.EnsureSuccessStatusCode();
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }

        public void Dispose() => _http.Dispose();
    }
}
