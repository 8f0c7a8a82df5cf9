using System.Net;
using System.Net.Sockets;
using Bpi.Orchestration.Components.Tests.Processes;
using Bpi.Orchestration.Components.Tests.Routing;
using Bpi.Orchestration.Nginx;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Options;
using static Bpi.Orchestration.Components.Tests.Nginx.NginxTestRouter;

namespace Bpi.Orchestration.Components.Tests.Nginx;

/// <summary>CueNginx on a real nginx: each test runs its own nginx (own prefix and ports) and stops it.</summary>
public sealed class CueNginxRouterTests
{
    private const string Service = "shop/web";

    [SkippableFact]
    public async Task Weights_of_10_and_90_send_about_10_percent_of_1000_requests_to_the_first_revision()
    {
        await using var blue = new TestBackend("blue");
        await using var green = new TestBackend("green");
        await using var nginx = Create();
        var endpoint = (await nginx.Router.ApplyAsync(Route(Service, (1, 10, [blue.Endpoint]), (2, 90, [green.Endpoint]))))!;

        var answers = new List<string?>();
        for (var i = 0; i < 1000; i++)
        {
            answers.Add(await RawHttpConnection.GetOnceAsync(endpoint));
        }

        Assert.DoesNotContain(null, answers);
        var toBlue = answers.Count(a => a == "blue");

        // Binomial(n = 1000, p = 0.1): the 99.9% two-sided bound is 100 ± 3.29 × sqrt(1000 × 0.1 × 0.9) ≈ 100 ± 31.
        // (With round robin and the upstream's state shared between workers, nginx sends exactly 100.)
        Assert.InRange(toBlue, 69, 131);
        Assert.Equal(1000 - toBlue, answers.Count(a => a == "green"));
        Assert.Equal(toBlue, blue.Requests);
        Assert.Equal(1000 - toBlue, green.Requests);
        var status = (await nginx.Router.GetStatusAsync())!;
        Assert.Equal(nginx.Router.MasterPid, status.MasterPid);
        Assert.True(status.Requests >= 1000, $"nginx counted {status.Requests} requests");
        Assert.True(status.Accepted >= 1000 && status.Handled == status.Accepted);
    }

    [SkippableFact]
    public async Task Switching_from_blue_to_green_under_continuous_load_drops_no_request()
    {
        await using var blue = new TestBackend("blue");
        await using var green = new TestBackend("green");
        await using var nginx = Create();
        var endpoint = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]), (2, 0, [green.Endpoint]))))!;
        await SwitchUnderLoad.RunAsync(endpoint, blue, green, async (toBlue, toGreen) => await nginx.Router.ApplyAsync(Route(Service, (1, toBlue, [blue.Endpoint]), (2, toGreen, [green.Endpoint]))));
    }

    [SkippableTheory]
    [InlineData(null, 429)]
    [InlineData(503, 503)]
    public async Task Requests_above_the_configured_rate_are_refused_with_the_configured_status(int? rejectStatus, int expected)
    {
        await using var backend = new TestBackend("web");
        const int Rate = 20, Burst = 5;
        await using var nginx = Create(o => o.DefaultService.HttpCage = new HttpCageOptions
        {
            RequestsPerSecond = Rate,
            Burst = Burst,
            DdosProtection = false,
            RejectStatusCode = rejectStatus,
        });
        var endpoint = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [backend.Endpoint]))))!;
        using var client = NginxHttp.KeepAlive();

        var started = TimeProvider.System.GetTimestamp();
        var statuses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var mine = new List<HttpStatusCode>();
            for (var i = 0; i < 20; i++)
            {
                using var response = await client.GetAsync(NginxHttp.Url(endpoint));
                mine.Add(response.StatusCode);
            }

            return mine;
        })));
        var elapsed = TimeProvider.System.GetElapsedTime(started);

        var all = statuses.SelectMany(s => s).ToList();
        var served = all.Count(s => s == HttpStatusCode.OK);
        Assert.All(all, s => Assert.True(s == HttpStatusCode.OK || (int)s == expected, $"unexpected status {(int)s}"));
        Assert.True(all.Any(s => (int)s == expected), "some requests above the rate must be refused");

        // The leaky bucket lets through the burst, one more, and the rate over the elapsed time (plus one for rounding).
        Assert.InRange(served, Burst + 1, Burst + 2 + (int)Math.Ceiling(Rate * elapsed.TotalSeconds));
        Assert.Equal(served, backend.Requests);
    }

    [SkippableFact]
    public async Task Requests_below_the_configured_rate_are_never_refused()
    {
        await using var backend = new TestBackend("web");
        await using var nginx = Create(o => o.DefaultService.HttpCage = new HttpCageOptions { RequestsPerSecond = 50, Burst = 5 });
        var endpoint = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [backend.Endpoint]))))!;
        using var client = NginxHttp.KeepAlive();

        // The client paces itself at half the rate (a load generator's clock, not a wait for a condition).
        var statuses = new List<HttpStatusCode>();
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(40), TimeProvider.System);
        for (var i = 0; i < 50 && await pace.WaitForNextTickAsync(); i++)
        {
            using var response = await client.GetAsync(NginxHttp.Url(endpoint));
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(50, statuses.Count);
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(50, backend.Requests);
    }

    [SkippableFact]
    public async Task A_config_nginx_rejects_is_refused_with_its_message_and_the_previous_routes_keep_serving()
    {
        await using var blue = new TestBackend("blue");
        await using var green = new TestBackend("green");
        await using var nginx = Create(o => o.Services["shop/broken"] = new NginxServiceOptions { ExtraLocationDirectives = ["bogus_directive on;"] });
        var endpoint = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]))))!;
        var master = nginx.Router.MasterPid;
        var live = await File.ReadAllTextAsync(nginx.Router.ConfigPath);

        var error = await Assert.ThrowsAsync<NginxException>(() => nginx.Router.ApplyAsync(Route("shop/broken", (1, 100, [green.Endpoint]))).AsTask());

        Assert.Equal(OrchestrationErrorKind.NetworkSetupFailed, error.Kind);
        Assert.Contains("unknown directive \"bogus_directive\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("[emerg]", error.NginxMessage, StringComparison.Ordinal);
        Assert.True(File.Exists(error.RejectedConfigPath));
        Assert.Equal(live, await File.ReadAllTextAsync(nginx.Router.ConfigPath));
        Assert.Null(nginx.Router.GetEndpoint("shop/broken"));
        Assert.Equal(master, nginx.Router.MasterPid);
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(endpoint));

        // nginx is still driven normally afterwards.
        await nginx.Router.ApplyAsync(Route(Service, (1, 0, [blue.Endpoint]), (2, 100, [green.Endpoint])));
        Assert.Equal("green", await RawHttpConnection.GetOnceAsync(endpoint));
    }

    [SkippableFact]
    public async Task A_missing_certificate_is_refused_with_nginx_s_message_and_nothing_changes()
    {
        await using var blue = new TestBackend("blue");
        await using var nginx = Create(o => o.Services["shop/tls"] = new NginxServiceOptions
        {
            Tls = new NginxTlsOptions { CertificatePath = "/nonexistent/tls.crt", KeyPath = "/nonexistent/tls.key" },
        });
        var endpoint = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]))))!;

        var error = await Assert.ThrowsAsync<NginxException>(() => nginx.Router.ApplyAsync(Route("shop/tls", (1, 100, [blue.Endpoint]))).AsTask());

        Assert.Contains("/nonexistent/tls.crt", error.NginxMessage, StringComparison.Ordinal);
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(endpoint));
    }

    [SkippableFact]
    public async Task HttpCage_refuses_methods_it_does_not_allow_and_oversized_bodies_and_sends_security_headers_with_HSTS_only_over_TLS()
    {
        await using var backend = new TestBackend("web");
        NginxTestEnvironment.RequireNginx();
        var directory = NginxTestRouter.NewDirectory();
        var (certificate, key) = NginxHttp.WriteSelfSignedCertificate(Path.Combine(directory, "certs")); // removed with the router's directory
        var cage = new HttpCageOptions { SecurityLevel = HttpCageSecurityLevel.Maximum, RateLimiting = false };
        await using var nginx = Create(
            o =>
            {
                o.Services["shop/plain"] = new NginxServiceOptions { HttpCage = cage };
                o.Services["shop/tls"] = new NginxServiceOptions { HttpCage = cage, Tls = new NginxTlsOptions { CertificatePath = certificate, KeyPath = key } };
            },
            directory: directory);
        var plain = (await nginx.Router.ApplyAsync(Route("shop/plain", (1, 100, [backend.Endpoint]))))!;
        var tls = (await nginx.Router.ApplyAsync(Route("shop/tls", (1, 100, [backend.Endpoint]))))!;
        using var client = NginxHttp.KeepAlive();

        using var ok = await client.GetAsync(NginxHttp.Url(tls, "https"));
        using var refused = await client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, NginxHttp.Url(tls, "https")));
        using var overPlain = await client.GetAsync(NginxHttp.Url(plain));
        using var tooLarge = await client.PostAsync(NginxHttp.Url(plain), new ByteArrayContent(new byte[(256 * 1024) + 1]));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("web", await ok.Content.ReadAsStringAsync());
        Assert.Equal(["nosniff"], ok.Headers.GetValues("X-Content-Type-Options"));
        Assert.Equal(["DENY"], ok.Headers.GetValues("X-Frame-Options"));
        Assert.Equal(["default-src 'none'; frame-ancestors 'none'"], ok.Headers.GetValues("Content-Security-Policy"));
        Assert.Equal(["max-age=31536000; includeSubDomains"], ok.Headers.GetValues("Strict-Transport-Security"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, refused.StatusCode);
        Assert.Equal(["GET", "HEAD", "POST"], refused.Content.Headers.Allow.Order());
        Assert.Equal(["nosniff"], refused.Headers.GetValues("X-Content-Type-Options"));
        Assert.Equal(HttpStatusCode.OK, overPlain.StatusCode);
        Assert.Equal(["DENY"], overPlain.Headers.GetValues("X-Frame-Options"));
        Assert.False(overPlain.Headers.Contains("Strict-Transport-Security"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode); // Maximum allows 256 KiB
        Assert.Equal(2, backend.Requests);
    }

    [SkippableFact]
    public async Task A_restarted_orchestrator_adopts_the_running_nginx_and_its_routes()
    {
        await using var blue = new TestBackend("blue");
        await using var green = new TestBackend("green");
        await using var first = Create(o => o.StopOnDispose = false);
        var endpoint = (await first.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]))))!;
        var master = first.Router.MasterPid!.Value;
        await first.Router.DisposeAsync();
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(endpoint)); // nginx outlives the router

        await using var second = Create(directory: first.Directory);
        await second.Router.StartAsync();

        Assert.Equal(master, second.Router.MasterPid);
        Assert.Equal(endpoint, second.Router.GetEndpoint(Service));
        Assert.Equal(endpoint, await second.Router.ApplyAsync(Route(Service, (1, 0, [blue.Endpoint]), (2, 100, [green.Endpoint]))));
        Assert.Equal(master, second.Router.MasterPid);
        Assert.Equal("green", await RawHttpConnection.GetOnceAsync(endpoint));

        await second.Router.DisposeAsync(); // StopOnDispose
        Assert.True(NginxHttp.IsGone(master));
        Assert.Null(await RawHttpConnection.GetOnceAsync(endpoint));
    }

    [SkippableFact]
    public async Task A_pid_file_naming_another_process_is_not_adopted_and_that_process_is_left_alone()
    {
        await using var blue = new TestBackend("blue");
        await using var nginx = Create();
        Directory.CreateDirectory(nginx.Directory);
        var me = OsProcesses.TryRead(Environment.ProcessId)!.Value;
        await File.WriteAllTextAsync(Path.Combine(nginx.Directory, "nginx.pid"), Environment.ProcessId + "\n");
        await File.WriteAllTextAsync(Path.Combine(nginx.Directory, "cue-nginx.json"), $$"""{ "version": 1, "masterPid": {{me.Pid}}, "masterStartTicks": {{me.StartTicks}}, "generation": 3, "services": [] }""");

        var endpoint = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]))))!;

        Assert.NotEqual(Environment.ProcessId, nginx.Router.MasterPid);
        Assert.NotNull(nginx.Router.MasterPid);
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(endpoint));
    }

    [SkippableFact]
    public async Task After_a_stop_the_next_change_starts_nginx_with_every_recorded_route()
    {
        await using var blue = new TestBackend("blue");
        await using var green = new TestBackend("green");
        await using var nginx = Create();
        var web = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]))))!;
        var master = nginx.Router.MasterPid!.Value;

        await nginx.Router.StopAsync();
        Assert.Null(nginx.Router.MasterPid);
        Assert.True(NginxHttp.IsGone(master));
        var api = (await nginx.Router.ApplyAsync(Route("shop/api", (1, 100, [green.Endpoint]))))!;

        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(web));
        Assert.Equal("green", await RawHttpConnection.GetOnceAsync(api));
    }

    [SkippableFact]
    public async Task A_killed_nginx_is_replaced_on_the_next_change_and_the_workers_it_left_are_removed()
    {
        await using var blue = new TestBackend("blue");
        await using var green = new TestBackend("green");
        await using var nginx = Create();
        var web = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]))))!;
        var master = OsProcesses.TryRead(nginx.Router.MasterPid!.Value)!.Value;
        var workers = OsProcesses.Descendants(master.Pid);
        Assert.NotEmpty(workers);

        Assert.True(OsProcesses.Signal(master.Pid, master.StartTicks, OsProcesses.SigKill));
        await Eventually.UntilAsync(() => NginxHttp.IsGone(master.Pid), "the master to die");
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(web)); // its orphaned workers still listen

        var api = (await nginx.Router.ApplyAsync(Route("shop/api", (1, 100, [green.Endpoint]))))!;

        Assert.NotEqual(master.Pid, nginx.Router.MasterPid);
        Assert.All(workers, w => Assert.False(OsProcesses.IsSameProcess(w.Pid, w.StartTicks)));
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(web));
        Assert.Equal("green", await RawHttpConnection.GetOnceAsync(api));
    }

    [SkippableFact]
    public async Task A_request_in_flight_during_a_switch_finishes_on_the_old_workers()
    {
        await using var green = new TestBackend("green");
        using var slow = new TcpListener(IPAddress.Loopback, 0);
        slow.Start();
        var slowEndpoint = new Runtime.ServiceEndpoint("127.0.0.1", ((IPEndPoint)slow.LocalEndpoint).Port);
        await using var nginx = Create();
        var endpoint = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [slowEndpoint]), (2, 0, [green.Endpoint]))))!;
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var backend = Task.Run(async () =>
        {
            using var socket = await slow.AcceptSocketAsync();
            var buffer = new byte[4096];
            var request = "";
            while (!request.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                request += System.Text.Encoding.ASCII.GetString(buffer, 0, await socket.ReceiveAsync(buffer, SocketFlags.None));
            }

            received.SetResult();
            await release.Task;
            await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow"u8.ToArray(), SocketFlags.None);
        });
        var inFlight = RawHttpConnection.GetOnceAsync(endpoint);
        await received.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await nginx.Router.ApplyAsync(Route(Service, (1, 0, [slowEndpoint]), (2, 100, [green.Endpoint])));
        Assert.Equal("green", await RawHttpConnection.GetOnceAsync(endpoint));
        release.SetResult();

        Assert.Equal("slow", await inFlight.WaitAsync(TimeSpan.FromSeconds(30)));
        await backend;
    }

    [SkippableFact]
    public async Task Removing_a_service_closes_its_listener_and_leaves_the_others_serving()
    {
        await using var blue = new TestBackend("blue");
        await using var nginx = Create();
        var web = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]))))!;
        var api = (await nginx.Router.ApplyAsync(Route("shop/api", (1, 100, [blue.Endpoint]))))!;

        await nginx.Router.RemoveAsync("shop/api");
        await nginx.Router.RemoveAsync("shop/api");

        Assert.Null(nginx.Router.GetEndpoint("shop/api"));
        Assert.Null(await RawHttpConnection.GetOnceAsync(api));
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(web));
    }

    [SkippableFact]
    public async Task A_service_keeps_its_endpoint_honours_a_requested_port_and_answers_503_without_weighted_endpoints()
    {
        await using var blue = new TestBackend("blue");
        await using var nginx = Create();
        var chosen = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]))))!;
        var generation = (await nginx.Router.GetStatusAsync())!.Generation;
        Assert.Equal(chosen, await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]))));
        Assert.Equal(generation, (await nginx.Router.GetStatusAsync())!.Generation); // the same route again: no reload

        var wanted = TestBackend.Refusing().Port;
        var moved = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint])) with { ListenPort = wanted }))!;
        Assert.Equal(wanted, moved.Port);
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(moved));

        await nginx.Router.ApplyAsync(Route(Service, (1, 0, [blue.Endpoint])) with { ListenPort = wanted });
        using var client = NginxHttp.NewConnectionPerRequest();
        using var response = await client.GetAsync(NginxHttp.Url(moved));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [SkippableFact]
    public async Task A_requested_port_in_use_fails_with_a_network_error_and_the_previous_route_stays_live()
    {
        await using var blue = new TestBackend("blue");
        await using var nginx = Create();
        var endpoint = (await nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint]))))!;
        using var occupied = new TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        var busy = ((IPEndPoint)occupied.LocalEndpoint).Port;

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => nginx.Router.ApplyAsync(Route(Service, (1, 100, [blue.Endpoint])) with { ListenPort = busy }).AsTask());

        Assert.Equal(OrchestrationErrorKind.NetworkSetupFailed, error.Kind);
        Assert.Contains("ListenPort", error.Message, StringComparison.Ordinal);
        Assert.Equal(endpoint, nginx.Router.GetEndpoint(Service));
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(endpoint));
    }

    [SkippableFact]
    public async Task Two_routers_on_one_state_directory_are_refused_as_a_conflict()
    {
        await using var first = Create();
        await first.Router.StartAsync();
        await using var second = new CueNginxRouter(Options.Create(new CueNginxOptions { StateDirectory = first.Directory }));

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => second.StartAsync());

        Assert.Equal(OrchestrationErrorKind.Conflict, error.Kind);
        Assert.Contains("StateDirectory", error.Message, StringComparison.Ordinal);
        Assert.NotNull(first.Router.MasterPid);
    }

    [Fact]
    public async Task A_missing_nginx_binary_is_reported_as_an_unavailable_runtime()
    {
        await using var router = new CueNginxRouter(Options.Create(new CueNginxOptions { NginxPath = "/nonexistent/nginx", StateDirectory = NginxTestRouter.NewDirectory() }));

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => router.ApplyAsync(Route(Service, (1, 100, [TestBackend.Refusing()]))).AsTask());

        Assert.Equal(OrchestrationErrorKind.RuntimeUnavailable, error.Kind);
        Assert.Contains("nginx-light", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_route_is_rejected_with_every_problem_listed_before_nginx_is_touched()
    {
        await using var router = new CueNginxRouter(Options.Create(new CueNginxOptions { NginxPath = "/nonexistent/nginx", StateDirectory = NginxTestRouter.NewDirectory() }));
        var route = new TrafficRoute(Service, [new TrafficBackend(1, 120, []), new TrafficBackend(1, -1, [new Runtime.ServiceEndpoint("evil;host", 0)])]) { ListenPort = 70000 };

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => router.ApplyAsync(route).AsTask());

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Equal(6, error.Errors.Count);
    }
}
