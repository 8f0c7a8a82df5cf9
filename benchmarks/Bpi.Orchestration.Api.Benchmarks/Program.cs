using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Bpi.Orchestration;
using Bpi.Orchestration.Security.Authorization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

// Load harness for the HTTP API (issue #16): N concurrent clients read deployment status through the real API on
// Kestrel while D deployments roll out new revisions (canary, in-memory runtime), started through the same API.
// Reports read latency (p50/p90/p99/max), reads/s, deploys/s accepted and rollouts/s completed. See README.md.
var settings = Settings.Parse(args);
if (settings is null)
{
    return 2;
}

await using var server = await ApiServer.StartAsync();
using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = settings.Clients + settings.Deployments + 4, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
using var http = new HttpClient(handler) { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(60) };
http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "deployer");
Console.WriteLine($"API on {server.Address} (in-memory runtime and router, every strategy, Security policy, in-memory audit); {settings.Clients} readers, {settings.Deployments} deployments, {settings.Seconds} s; .NET {Environment.Version}, {Environment.ProcessorCount} CPUs");

// 0. Warm-up (JIT, connection, first policy evaluation): one deployment that is not measured nor read afterwards.
using (var warm = await http.PostAsync("/api/v1/orchestration/deploy", Json(Document(999, 1))))
{
    var id = JsonNode.Parse(await warm.Content.ReadAsStringAsync())!["deployment_id"]!.GetValue<string>();
    await server.Vm.WaitForStateAsync(id, s => s == DeploymentState.Running);
    using var read = await http.GetAsync($"/api/v1/orchestration/deployment/{id}");
}

// 1. Deploys accepted: the D first revisions posted at once.
var deployWatch = Stopwatch.StartNew();
var ids = await Task.WhenAll(Enumerable.Range(0, settings.Deployments).Select(async i =>
{
    using var response = await http.PostAsync("/api/v1/orchestration/deploy", Json(Document(i, 1)));
    var text = await response.Content.ReadAsStringAsync();
    return response.StatusCode == HttpStatusCode.Accepted
        ? JsonNode.Parse(text)!["deployment_id"]!.GetValue<string>()
        : throw new InvalidOperationException($"deploy {i} answered {(int)response.StatusCode}: {text}");
}));
var deployAccepted = deployWatch.Elapsed;
await Task.WhenAll(ids.Select(id => server.Vm.WaitForStateAsync(id, s => s == DeploymentState.Running)));
var deployRunning = deployWatch.Elapsed;

// 2. Readers and rollouts at once, for the given time.
using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(settings.Seconds));
var readErrors = 0L;
var readers = Enumerable.Range(0, settings.Clients).Select(c => Task.Run(async () =>
{
    var latencies = new List<long>(4096);
    var random = new Random(c);
    while (!stop.IsCancellationRequested)
    {
        var id = ids[random.Next(ids.Length)];
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.GetAsync($"/api/v1/orchestration/deployment/{id}", HttpCompletionOption.ResponseContentRead, CancellationToken.None);
            _ = await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
            latencies.Add(Stopwatch.GetTimestamp() - started);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Interlocked.Increment(ref readErrors);
            }
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref readErrors);
        }
    }

    return latencies;
})).ToList();

var updatesAccepted = 0L;
var rolloutsCompleted = 0L;
var updateLatencies = new List<double>();
var updaters = ids.Select((id, i) => Task.Run(async () =>
{
    var revision = 1;
    while (!stop.IsCancellationRequested)
    {
        revision++;
        var started = Stopwatch.GetTimestamp();
        using var response = await http.PutAsync($"/api/v1/orchestration/deployment/{id}", Json(Document(i, revision)), CancellationToken.None);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"update of {id} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        Interlocked.Increment(ref updatesAccepted);
        lock (updateLatencies)
        {
            updateLatencies.Add(elapsed);
        }

        var status = await server.Vm.WaitForStateAsync(id, s => s.IsSettled(), CancellationToken.None);
        if (status.State != DeploymentState.Running || status.StableRevision != revision)
        {
            throw new InvalidOperationException($"{id} settled {status.State} at r{status.StableRevision}, not Running at r{revision}: {status.Message}");
        }

        Interlocked.Increment(ref rolloutsCompleted);
    }
})).ToList();

var window = Stopwatch.StartNew();
var perClient = await Task.WhenAll(readers);
await Task.WhenAll(updaters);
var elapsedWindow = window.Elapsed.TotalSeconds;

var all = perClient.SelectMany(l => l).Order().ToArray();
double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
double Percentile(double p) => all.Length == 0 ? double.NaN : Ms(all[Math.Min(all.Length - 1, (int)Math.Ceiling(p / 100 * all.Length) - 1)]);
updateLatencies.Sort();
var c = CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(c, $"deploy: {ids.Length} first revisions accepted in {deployAccepted.TotalMilliseconds:0} ms = {ids.Length / deployAccepted.TotalSeconds:0.0} deploys/s accepted; all Running after {deployRunning.TotalMilliseconds:0} ms"));
Console.WriteLine(string.Create(c, $"status reads: {all.Length} in {elapsedWindow:0.0} s = {all.Length / elapsedWindow:0} req/s by {settings.Clients} clients; latency p50 {Percentile(50):0.00} ms, p90 {Percentile(90):0.00} ms, p99 {Percentile(99):0.00} ms, max {(all.Length > 0 ? Ms(all[^1]) : double.NaN):0.00} ms; errors {readErrors}"));
Console.WriteLine(string.Create(c, $"rollouts meanwhile: {updatesAccepted} updates accepted = {updatesAccepted / elapsedWindow:0.0} deploys/s accepted (PUT p50 {(updateLatencies.Count > 0 ? updateLatencies[updateLatencies.Count / 2] : double.NaN):0.00} ms), {rolloutsCompleted} canary rollouts completed = {rolloutsCompleted / elapsedWindow:0.0}/s"));
if (readErrors > 0 || all.Length == 0 || rolloutsCompleted == 0)
{
    Console.Error.WriteLine("FAILED: read errors, no reads or no rollout completed.");
    return 1;
}

return 0;

static StringContent Json(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, "application/json");

// A canary with three weight steps and no pause: on the in-memory runtime each rollout runs through every step.
static JsonObject Document(int index, int revision) => new()
{
    ["name"] = $"load-{index:00}",
    ["appId"] = "load",
    ["environment"] = "development",
    ["components"] = new JsonArray(new JsonObject { ["id"] = "web", ["image"] = $"registry.local/load:{revision}.0", ["replicas"] = 2 }),
    ["strategy"] = new JsonObject
    {
        ["type"] = "canary",
        ["steps"] = new JsonArray(new JsonObject { ["setWeight"] = 25 }, new JsonObject { ["setWeight"] = 50 }, new JsonObject { ["setWeight"] = 75 }),
    },
};

/// <summary>Command-line settings: <c>--clients 200 --deployments 20 --seconds 20</c>, or <c>--quick</c> (20, 4, 2).</summary>
internal sealed record Settings(int Clients, int Deployments, int Seconds)
{
    public static Settings? Parse(string[] args)
    {
        var settings = new Settings(200, 20, 20);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : (int?)null;
            switch (args[i])
            {
                case "--quick":
                    settings = new Settings(20, 4, 2);
                    continue;
                case "--clients" when value is not null:
                    settings = settings with { Clients = value.Value };
                    break;
                case "--deployments" when value is not null:
                    settings = settings with { Deployments = value.Value };
                    break;
                case "--seconds" when value is not null:
                    settings = settings with { Seconds = value.Value };
                    break;
                default:
                    Console.Error.WriteLine($"unknown or invalid argument '{args[i]}'; usage: [--quick] [--clients N] [--deployments N] [--seconds N]");
                    return null;
            }

            i++;
        }

        return settings;
    }
}

/// <summary>The API as the server sample runs it, on a Kestrel loopback port, with the in-memory runtime.</summary>
internal sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApiServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public IOrchestrationVm Vm => _app.Services.GetRequiredService<IOrchestrationVm>();

    public static async Task<ApiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Limits.MaxConcurrentConnections = null).UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication(BearerRoleAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerRoleAuthentication>(BearerRoleAuthentication.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddOrchestration(o => o.VmId = "api-load")
            .AddInMemoryRuntime()
            .AddInMemoryTrafficRouter()
            .AddStrategies()
            .AddInMemoryAuditStore()
            .AddSecurity()
            .ConfigureAuthorization(o =>
            {
                o.AuditAllowedDecisions = false;
                o.Rules.Add(new AuthorizationRule { Name = "deployers", Subjects = ["role:deployer"] });
                o.Rules.Add(new AuthorizationRule { Name = "harness-reads", Subjects = ["role:system"], Verbs = ["read"] }); // the harness waits on the VM in process
            })
            .AddOrchestrationApi();
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOrchestrationApi().RequireAuthorization();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new ApiServer(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary><c>Authorization: Bearer &lt;role&gt;</c> authenticates user <c>load</c> with that role (a harness, not a scheme to copy).</summary>
internal sealed class BearerRoleAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "BearerRole";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "load"), new Claim(ClaimTypes.Role, header[7..])], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
