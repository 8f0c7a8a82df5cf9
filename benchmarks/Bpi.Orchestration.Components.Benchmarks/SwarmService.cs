using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Bpi.Orchestration.Components.Benchmarks;

/// <summary>
/// The comparison point: the same 10 replicas as a service on a single-node swarm, updated v1 → v2 with
/// <c>Parallelism=10, Order=start-first, Delay=0</c> — the swarm equivalent of "start all new, then remove all old".
/// Spoken to over the Engine API directly (the SDK's client has no swarm endpoints) and observed through its tasks.
/// </summary>
internal sealed class SwarmService : IDisposable
{
    public const string Name = "bpi-bench-swarm";

    private readonly HttpClient _http;
    private bool _initializedSwarm;
    private int _version = 1;

    public SwarmService(string socketPath = "/var/run/docker.sock")
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), token);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://docker/v1.41/"), Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task SetUpAsync()
    {
        var info = await _http.GetFromJsonAsync<JsonObject>("info");
        if (info?["Swarm"]?["LocalNodeState"]?.GetValue<string>() != "active")
        {
            var init = await _http.PostAsJsonAsync("swarm/init", new JsonObject { ["ListenAddr"] = "127.0.0.1:2377", ["AdvertiseAddr"] = "127.0.0.1" });
            await EnsureSuccessAsync(init, "swarm init");
            _initializedSwarm = true;
        }

        var spec = new JsonObject
        {
            ["Name"] = Name,
            ["Labels"] = new JsonObject { ["bpi.orchestration/owner"] = BenchmarkEngine.OwnerId },
            ["TaskTemplate"] = new JsonObject
            {
                ["ContainerSpec"] = new JsonObject
                {
                    ["Image"] = BenchmarkEngine.Image,
                    ["Env"] = new JsonArray("APP_VERSION=v1"),
                    ["User"] = "65534:65534",
                    ["ReadOnly"] = true,
                    ["Init"] = true,
                    ["CapabilityDrop"] = new JsonArray("ALL"),
                },
                ["Resources"] = new JsonObject { ["Limits"] = new JsonObject { ["NanoCPUs"] = 100_000_000, ["MemoryBytes"] = 32L * 1024 * 1024, ["Pids"] = 256 } },
                ["RestartPolicy"] = new JsonObject { ["Condition"] = "none" },
            },
            ["Mode"] = new JsonObject { ["Replicated"] = new JsonObject { ["Replicas"] = BenchmarkEngine.Replicas } },
            ["UpdateConfig"] = new JsonObject { ["Parallelism"] = BenchmarkEngine.Replicas, ["Delay"] = 0, ["Order"] = "start-first", ["FailureAction"] = "pause" },
            ["EndpointSpec"] = new JsonObject { ["Ports"] = new JsonArray(new JsonObject { ["Protocol"] = "tcp", ["TargetPort"] = 8080, ["PublishMode"] = "host" }) },
        };
        var created = await _http.PostAsJsonAsync("services/create", spec);
        await EnsureSuccessAsync(created, "service create");
        await WaitConvergedAsync(1);
    }

    /// <summary>Updates the service to the next version and waits until every running task is of it and no old task runs.</summary>
    public async Task UpdateAsync()
    {
        var service = await _http.GetFromJsonAsync<JsonObject>("services/" + Name) ?? throw new InvalidOperationException("no service");
        var index = service["Version"]!["Index"]!.GetValue<long>();
        var spec = service["Spec"]!.AsObject();
        _version++;
        spec["TaskTemplate"]!["ContainerSpec"]!["Env"] = new JsonArray("APP_VERSION=v" + _version);
        var response = await _http.PostAsJsonAsync($"services/{Name}/update?version={index}", spec.DeepClone());
        await EnsureSuccessAsync(response, "service update");
        await WaitConvergedAsync(_version);
    }

    public async Task TearDownAsync()
    {
        using (await _http.DeleteAsync("services/" + Name))
        {
        }

        // Tasks' containers go away asynchronously; wait so the next benchmark starts on a quiet engine.
        for (var i = 0; i < 200; i++)
        {
            var containers = await _http.GetFromJsonAsync<JsonArray>("containers/json?all=1&filters=" + Uri.EscapeDataString("{\"label\":[\"com.docker.swarm.service.name=" + Name + "\"]}"));
            if (containers is null || containers.Count == 0)
            {
                break;
            }

            await Task.Delay(BenchmarkEngine.PollInterval);
        }

        if (_initializedSwarm)
        {
            using var left = await _http.PostAsync("swarm/leave?force=1", null);
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task WaitConvergedAsync(int version)
    {
        var expected = "APP_VERSION=v" + version;
        while (true)
        {
            var tasks = await _http.GetFromJsonAsync<JsonArray>("tasks?filters=" + Uri.EscapeDataString("{\"service\":[\"" + Name + "\"]}")) ?? [];
            var current = 0;
            var oldAlive = 0;
            foreach (var task in tasks)
            {
                var env = task!["Spec"]?["ContainerSpec"]?["Env"]?.AsArray().Select(e => e!.GetValue<string>()) ?? [];
                var state = task["Status"]?["State"]?.GetValue<string>();
                var isCurrent = env.Contains(expected);
                if (isCurrent && state == "running")
                {
                    current++;
                }
                else if (!isCurrent && state is not ("shutdown" or "complete" or "failed" or "rejected" or "orphaned" or "remove"))
                {
                    oldAlive++;
                }
            }

            if (current == BenchmarkEngine.Replicas && oldAlive == 0)
            {
                return;
            }

            await Task.Delay(BenchmarkEngine.PollInterval);
        }
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{what} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }
}
