// The in-process router against a direct connection and against nginx: same backend, same client, one run.
//
//   dotnet run -c Release --project benchmarks/Bpi.Orchestration.Routing.Benchmarks -- [--mode all|latency|throughput]
//       [--requests 20000] [--rounds 5] [--connections 32] [--seconds 5] [--nginx /usr/sbin/nginx]
//
// Every target is its own process, started by this harness and stopped at the end: the backend (this program with
// --mode backend), the in-process router (this program with --mode router: an InProcessTrafficRouter with one
// route to the backend) and nginx (its own prefix, config and pid file under a temporary directory, never the
// system service) proxying the same backend twice: at layer 4 (stream module, like the in-process router) and at
// layer 7 (http proxy with upstream keep-alive). CueNginx (the SDK's nginx router, in this process) adds two more
// targets on its own nginx: the route as CueNginx renders it, and the same behind HttpCage (Low preset, limits raised
// so nothing is refused: the cost of the checks and headers), and the route without a shared upstream zone.
// The client runs in this process.
//
// latency:    one keep-alive connection, one request at a time; rounds alternate the targets; p50/p99 per target and
//             the latency each proxy adds over the direct connection.
// throughput: --connections keep-alive connections sending requests back to back for --seconds per target (two
//             rounds, alternating); requests/s per target and the router's ratio to nginx.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Bpi.Orchestration.Nginx;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Routing.Benchmarks;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Options;

var options = Args.Parse(args);
switch (options.Get("mode", "all"))
{
    case "backend":
        await Backend.RunAsync(options.GetInt("port", 0), CancellationToken.None);
        return 0;
    case "router":
        return await RunRouterAsync(options.GetInt("port", 0), options.GetInt("backend", 0));
    case "enc-router":
        return await EncClusterTarget.RunAsync(options.GetInt("port", 0), options.GetInt("backend", 0));
    case "latency":
    case "throughput":
    case "all":
        return await RunBenchmarkAsync(options);
    default:
        Console.Error.WriteLine("--mode must be all, latency, throughput, backend or router.");
        return 2;
}

static async Task<int> RunRouterAsync(int port, int backendPort)
{
    await using var router = new InProcessTrafficRouter();
    var route = new TrafficRoute("bench/backend", [new TrafficBackend(1, 100, [new ServiceEndpoint("127.0.0.1", backendPort)])]) { ListenPort = port };
    await router.ApplyAsync(route);
    Console.WriteLine("ready");

    // Runs until the harness closes stdin (or kills it).
    await Console.In.ReadToEndAsync();
    return 0;
}

static async Task<int> RunBenchmarkAsync(Args options)
{
    var mode = options.Get("mode", "all");
    var nginxPath = options.Get("nginx", "/usr/sbin/nginx");
    var ports = Enumerable.Range(0, 5).Select(_ => FreePort()).ToArray();
    var (backendPort, routerPort, nginxStreamPort, nginxHttpPort, encPort) = (ports[0], ports[1], ports[2], ports[3], ports[4]);
    var scratch = Directory.CreateTempSubdirectory("bpi-bench-nginx-");
    var children = new List<Process>();
    var nginxIndex = -1;
    var cue = new CueNginxRouter(Options.Create(CueNginxBenchmarkOptions(Path.Combine(scratch.FullName, "cue"))));
    try
    {
        children.Add(StartSelf("--mode", "backend", "--port", backendPort.ToString(CultureInfo.InvariantCulture)));
        var router = StartSelfInfo("--mode", "router", "--port", routerPort.ToString(CultureInfo.InvariantCulture), "--backend", backendPort.ToString(CultureInfo.InvariantCulture));
        if (options.Get("inline-completions", "false") == "true")
        {
            // .NET's socket engine then runs continuations on its epoll thread instead of the thread pool.
            router.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
        }

        children.Add(Process.Start(router)!);
        nginxIndex = children.Count;
        children.Add(StartNginx(nginxPath, scratch.FullName, backendPort, nginxStreamPort, nginxHttpPort));
        children.Add(StartSelf("--mode", "enc-router", "--port", encPort.ToString(CultureInfo.InvariantCulture), "--backend", backendPort.ToString(CultureInfo.InvariantCulture)));
        foreach (var port in ports)
        {
            await WaitForPortAsync(port);
        }

        var backend = new ServiceEndpoint("127.0.0.1", backendPort);
        var cuePort = (await cue.ApplyAsync(new TrafficRoute("bench/plain", [new TrafficBackend(1, 100, [backend])])))!.Port;
        var cagedPort = (await cue.ApplyAsync(new TrafficRoute("bench/caged", [new TrafficBackend(1, 100, [backend])])))!.Port;
        var unsharedPort = (await cue.ApplyAsync(new TrafficRoute("bench/unshared", [new TrafficBackend(1, 100, [backend])])))!.Port;
        var targets = new (string Name, int Port)[]
        {
            ("direct", backendPort),
            ("in-process router", routerPort),
            ("EncCluster (router + mTLS)", encPort),
            ("nginx stream (L4)", nginxStreamPort),
            ("nginx http (L7)", nginxHttpPort),
            ("CueNginx (L7)", cuePort),
            ("CueNginx + HttpCage", cagedPort),
            ("CueNginx, no zone", unsharedPort),
        };
        Console.WriteLine($"# {RuntimeDescription()}, {Environment.ProcessorCount} cores, nginx {NginxVersion(nginxPath)}");
        if (mode is "all" or "latency")
        {
            await LatencyAsync(targets, options.GetInt("requests", 20_000), options.GetInt("rounds", 5));
        }

        if (mode is "all" or "throughput")
        {
            await ThroughputAsync(targets, options.GetInt("connections", 32), TimeSpan.FromSeconds(options.GetInt("seconds", 5)));
        }

        return 0;
    }
    finally
    {
        await cue.DisposeAsync(); // StopOnDispose: a graceful stop of CueNginx's nginx

        // nginx first, through its own signal (SIGTERM to the master, which stops and reaps its workers).
        if (nginxIndex >= 0)
        {
            using var stop = Process.Start(new ProcessStartInfo(nginxPath, ["-p", scratch.FullName, "-e", Path.Combine(scratch.FullName, "error.log"), "-c", Path.Combine(scratch.FullName, "nginx.conf"), "-s", "stop"]) { RedirectStandardError = true })!;
            await stop.WaitForExitAsync();
            await children[nginxIndex].WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        foreach (var child in children)
        {
            try
            {
                child.Kill(entireProcessTree: true);
                await child.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
            }

            child.Dispose();
        }

        scratch.Delete(recursive: true);
    }
}

static CueNginxOptions CueNginxBenchmarkOptions(string directory)
{
    // As the hand-written L7 config: clients keep their connection (nginx closes it after 1000 requests by default).
    var keepalive = new List<string> { "keepalive_requests 100000000;" };
    var options = new CueNginxOptions { StateDirectory = directory, StopOnDispose = true, DefaultService = new NginxServiceOptions { ExtraLocationDirectives = keepalive, UpstreamKeepalive = 64 } };
    options.Services["bench/caged"] = new NginxServiceOptions
    {
        ExtraLocationDirectives = keepalive,
        UpstreamKeepalive = 64,
        HttpCage = new HttpCageOptions { SecurityLevel = HttpCageSecurityLevel.Low, RequestsPerSecond = 10_000_000, Burst = 10_000_000, ConnectionsPerClient = 65_535 },
    };
    options.Services["bench/unshared"] = new NginxServiceOptions { ExtraLocationDirectives = keepalive, UpstreamKeepalive = 64, SharedUpstreamState = false };
    return options;
}

static async Task LatencyAsync((string Name, int Port)[] targets, int requests, int rounds)
{
    var samples = targets.ToDictionary(t => t.Name, _ => new List<double>());
    var clients = new Dictionary<string, Client>();
    foreach (var (name, port) in targets)
    {
        clients[name] = await Client.ConnectAsync(port, name);
        for (var i = 0; i < 5_000; i++)
        {
            await clients[name].GetAsync(); // warm-up: JIT, connection pools, caches
        }
    }

    var perRound = Math.Max(1, requests / rounds);
    for (var round = 0; round < rounds; round++)
    {
        foreach (var (name, _) in targets)
        {
            var client = clients[name];
            var list = samples[name];
            for (var i = 0; i < perRound; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await client.GetAsync();
                list.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }
    }

    foreach (var client in clients.Values)
    {
        client.Dispose();
    }

    var direct = samples["direct"];
    Console.WriteLine();
    Console.WriteLine($"## Latency: {perRound * rounds} sequential requests per target on one keep-alive connection, {rounds} alternating rounds (µs)");
    Console.WriteLine("| target | p50 | p90 | p99 | p99.9 | added p50 | added p99 |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
    foreach (var (name, _) in targets)
    {
        var s = samples[name];
        var added = name == "direct" ? "" : $" {P(s, 50) - P(direct, 50):F1} | {P(s, 99) - P(direct, 99):F1} |";
        Console.WriteLine($"| {name} | {P(s, 50):F1} | {P(s, 90):F1} | {P(s, 99):F1} | {P(s, 99.9):F1} |{(added.Length == 0 ? " – | – |" : added)}");
    }
}

static async Task ThroughputAsync((string Name, int Port)[] targets, int connections, TimeSpan duration)
{
    var totals = targets.ToDictionary(t => t.Name, _ => 0L);
    const int Rounds = 2;
    for (var round = 0; round < Rounds; round++)
    {
        foreach (var (name, port) in targets)
        {
            totals[name] += await LoadAsync(port, connections, duration);
        }
    }

    Console.WriteLine();
    Console.WriteLine($"## Throughput: {connections} keep-alive connections, {duration.TotalSeconds:F0} s per target × {Rounds} alternating rounds");
    Console.WriteLine("| target | requests/s | vs nginx stream | vs nginx http | vs in-process router |");
    Console.WriteLine("|---|---:|---:|---:|---:|");
    var seconds = duration.TotalSeconds * Rounds;
    foreach (var (name, _) in targets)
    {
        var rps = totals[name] / seconds;
        Console.WriteLine($"| {name} | {rps:F0} | {rps / (totals["nginx stream (L4)"] / seconds):F2} | {rps / (totals["nginx http (L7)"] / seconds):F2} | {rps / (totals["in-process router"] / seconds):F2} |");
    }
}

static async Task<long> LoadAsync(int port, int connections, TimeSpan duration)
{
    var clients = new List<Client>();
    for (var i = 0; i < connections; i++)
    {
        clients.Add(await Client.ConnectAsync(port, port.ToString(CultureInfo.InvariantCulture)));
    }

    // A short warm-up on every connection, then the measured window.
    await Task.WhenAll(clients.Select(async c =>
    {
        for (var i = 0; i < 200; i++)
        {
            await c.GetAsync();
        }
    }));

    using var stop = new CancellationTokenSource(duration);
    var counts = await Task.WhenAll(clients.Select(c => Task.Run(async () =>
    {
        long n = 0;
        while (!stop.IsCancellationRequested)
        {
            await c.GetAsync();
            n++;
        }

        return n;
    })));
    foreach (var client in clients)
    {
        client.Dispose();
    }

    return counts.Sum();
}

static double P(List<double> samples, double percentile)
{
    var sorted = samples.Order().ToArray();
    var index = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
    return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
}

static Process StartSelf(params string[] arguments) => Process.Start(StartSelfInfo(arguments))!;

static ProcessStartInfo StartSelfInfo(params string[] arguments)
{
    var info = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
    {
        info.ArgumentList.Add(typeof(Backend).Assembly.Location);
    }

    foreach (var argument in arguments)
    {
        info.ArgumentList.Add(argument);
    }

    return info;
}

static Process StartNginx(string nginx, string prefix, int backendPort, int streamPort, int httpPort)
{
    var config = $$"""
        load_module /usr/lib/nginx/modules/ngx_stream_module.so;
        worker_processes auto;
        daemon off;
        pid {{prefix}}/nginx.pid;
        error_log {{prefix}}/error.log warn;
        events { worker_connections 4096; }
        stream {
            upstream backend { server 127.0.0.1:{{backendPort}}; }
            server { listen 127.0.0.1:{{streamPort}}; proxy_pass backend; }
        }
        http {
            access_log off;
            client_body_temp_path {{prefix}}/body;
            proxy_temp_path {{prefix}}/proxy;
            fastcgi_temp_path {{prefix}}/fastcgi;
            uwsgi_temp_path {{prefix}}/uwsgi;
            scgi_temp_path {{prefix}}/scgi;
            upstream backend { server 127.0.0.1:{{backendPort}}; keepalive 64; keepalive_requests 100000000; }
            keepalive_requests 100000000;
            server {
                listen 127.0.0.1:{{httpPort}};
                location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
            }
        }
        """;
    var path = Path.Combine(prefix, "nginx.conf");
    File.WriteAllText(path, config);
    using (var check = Process.Start(new ProcessStartInfo(nginx, ["-t", "-p", prefix, "-e", Path.Combine(prefix, "error.log"), "-c", path]) { RedirectStandardError = true })!)
    {
        var output = check.StandardError.ReadToEnd();
        check.WaitForExit();
        if (check.ExitCode != 0)
        {
            throw new InvalidOperationException("nginx -t rejected the benchmark config: " + output);
        }
    }

    return Process.Start(new ProcessStartInfo(nginx, ["-p", prefix, "-e", Path.Combine(prefix, "error.log"), "-c", path]) { UseShellExecute = false })!;
}

static string NginxVersion(string nginx)
{
    using var process = Process.Start(new ProcessStartInfo(nginx, "-v") { RedirectStandardError = true })!;
    var text = process.StandardError.ReadToEnd().Trim();
    process.WaitForExit();
    return text.Replace("nginx version: nginx/", "", StringComparison.Ordinal);
}

static string RuntimeDescription() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

static int FreePort()
{
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    return ((IPEndPoint)socket.LocalEndPoint!).Port;
}

static async Task WaitForPortAsync(int port)
{
    var deadline = Stopwatch.StartNew();
    while (true)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port);
            return;
        }
        catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }
    }
}

/// <summary>The harness's <c>--name value</c> arguments.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Args Parse(string[] args)
    {
        var parsed = new Args();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            parsed._values[args[i].TrimStart('-')] = args[i + 1];
        }

        return parsed;
    }

    public string Get(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    public int GetInt(string name, int fallback) => _values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
