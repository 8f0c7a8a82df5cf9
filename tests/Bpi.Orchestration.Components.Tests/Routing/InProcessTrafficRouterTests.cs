using System.Net;
using System.Net.Sockets;
using Bpi.Orchestration.Components.Tests.Processes;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Routing;

public sealed class InProcessTrafficRouterTests
{
    private const string Service = "shop/web";

    private static TrafficRoute Route(params (int Revision, int Weight, ServiceEndpoint[] Endpoints)[] backends)
        => new(Service, [.. backends.Select(b => new TrafficBackend(b.Revision, b.Weight, b.Endpoints))]);

    private static InProcessTrafficRouter NewRouter(Action<InProcessRouterOptions>? configure = null, ILoggerFactory? loggerFactory = null)
    {
        var options = new InProcessRouterOptions();
        configure?.Invoke(options);
        return new InProcessTrafficRouter(Options.Create(options), loggerFactory: loggerFactory);
    }

    [Fact]
    public async Task Weights_of_10_and_90_send_about_10_percent_of_1000_requests_to_the_first_revision()
    {
        await using var blue = new TestBackend("blue");
        await using var green = new TestBackend("green");
        await using var router = NewRouter();
        var endpoint = (await router.ApplyAsync(Route((1, 10, [blue.Endpoint]), (2, 90, [green.Endpoint]))))!;

        var answers = new List<string?>();
        for (var i = 0; i < 1000; i++)
        {
            answers.Add(await RawHttpConnection.GetOnceAsync(endpoint));
        }

        Assert.DoesNotContain(null, answers);
        var toBlue = answers.Count(a => a == "blue");

        // Binomial(n = 1000, p = 0.1): the 99.9% two-sided bound is 100 ± 3.29 × sqrt(1000 × 0.1 × 0.9) ≈ 100 ± 31.
        Assert.InRange(toBlue, 69, 131);
        Assert.Equal(1000 - toBlue, answers.Count(a => a == "green"));
        var stats = router.GetStats(Service)!;
        Assert.Equal(toBlue, stats.ConnectionsTo(1));
        Assert.Equal(1000 - toBlue, stats.ConnectionsTo(2));
        Assert.Equal(1000, stats.ConnectionsAccepted);
        Assert.Equal(0, stats.ConnectionsRejected);
        Assert.Equal([10.0, 90.0], stats.Backends.Select(b => Math.Round(b.Weight, 6)));
        Assert.All(stats.Backends, b => Assert.True(b.BytesToBackend > 0 && b.BytesFromBackend > 0));
    }

    [Fact]
    public async Task Switching_from_blue_to_green_under_continuous_load_drops_no_request()
    {
        await using var blue = new TestBackend("blue");
        await using var green = new TestBackend("green");
        await using var router = NewRouter();
        var endpoint = (await router.ApplyAsync(Route((1, 100, [blue.Endpoint]), (2, 0, [green.Endpoint]))))!;
        await SwitchUnderLoad.RunAsync(endpoint, blue, green, async (toBlue, toGreen) => await router.ApplyAsync(Route((1, toBlue, [blue.Endpoint]), (2, toGreen, [green.Endpoint]))));
    }

    [Fact]
    public async Task A_backend_that_refuses_connections_is_skipped_counted_and_logged()
    {
        await using var live = new TestBackend("live");
        var dead = TestBackend.Refusing();
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        await using var router = NewRouter(loggerFactory: loggerFactory);
        var endpoint = (await router.ApplyAsync(Route((1, 50, [dead]), (2, 50, [live.Endpoint]))))!;

        var answers = new List<string?>();
        for (var i = 0; i < 20; i++)
        {
            answers.Add(await RawHttpConnection.GetOnceAsync(endpoint));
        }

        Assert.All(answers, a => Assert.Equal("live", a));
        var stats = router.GetStats(Service)!;
        var deadStats = stats.Backends.Single(b => b.Endpoint == dead);
        Assert.True(deadStats.Refused >= 1);
        Assert.False(deadStats.Available);
        Assert.Equal(0, deadStats.Connections);
        Assert.Equal(20, stats.Backends.Single(b => b.Endpoint == live.Endpoint).Connections);
        Assert.Equal(0, stats.ConnectionsRejected);
        var refused = Assert.Single(logs.Entries, e => e.EventId == 3602);
        Assert.Equal(LogLevel.Warning, refused.Level);
        Assert.Contains(dead.ToString(), refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_every_backend_refuses_the_connection_is_closed_and_counted_as_rejected()
    {
        await using var router = NewRouter();
        var endpoint = (await router.ApplyAsync(Route((1, 100, [TestBackend.Refusing(), TestBackend.Refusing()]))))!;

        Assert.Null(await RawHttpConnection.GetOnceAsync(endpoint));

        var stats = router.GetStats(Service)!;
        Assert.Equal(1, stats.ConnectionsRejected);
        Assert.All(stats.Backends, b => Assert.Equal(1, b.Refused));
    }

    [Fact]
    public async Task Open_connections_survive_a_weight_change_and_the_removal_of_the_route()
    {
        await using var blue = new TestBackend("blue");
        await using var green = new TestBackend("green");
        await using var router = NewRouter();
        var endpoint = (await router.ApplyAsync(Route((1, 100, [blue.Endpoint]), (2, 0, [green.Endpoint]))))!;
        using var open = await RawHttpConnection.OpenAsync(endpoint);
        Assert.Equal("blue", await open.GetAsync());

        var after = await router.ApplyAsync(Route((1, 0, [blue.Endpoint]), (2, 100, [green.Endpoint])));

        Assert.Equal(endpoint, after);
        Assert.Equal("blue", await open.GetAsync());
        Assert.Equal("green", await RawHttpConnection.GetOnceAsync(endpoint));
        Assert.Equal(1, router.GetStats(Service)!.Backends.Single(b => b.Revision == 1).ActiveConnections);

        await router.RemoveAsync(Service);

        Assert.Null(router.GetEndpoint(Service));
        Assert.Equal("blue", await open.GetAsync());
        Assert.Null(await RawHttpConnection.GetOnceAsync(endpoint)); // the listener is gone
    }

    [Fact]
    public async Task A_service_keeps_its_endpoint_and_honours_a_requested_listen_port()
    {
        await using var blue = new TestBackend("blue");
        await using var router = NewRouter();
        var chosen = (await router.ApplyAsync(Route((1, 100, [blue.Endpoint]))))!;
        Assert.Equal("127.0.0.1", chosen.Host);
        Assert.Equal(chosen, await router.ApplyAsync(Route((1, 100, [blue.Endpoint]))));
        Assert.Equal(chosen, router.GetEndpoint(Service));

        var wanted = TestBackend.Refusing().Port;
        var moved = (await router.ApplyAsync(Route((1, 100, [blue.Endpoint])) with { ListenPort = wanted }))!;

        Assert.Equal(wanted, moved.Port);
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(moved));
    }

    [Fact]
    public async Task A_listen_port_in_use_fails_with_a_network_error_and_the_previous_route_stays_live()
    {
        await using var blue = new TestBackend("blue");
        await using var green = new TestBackend("green");
        await using var router = NewRouter();
        var endpoint = (await router.ApplyAsync(Route((1, 100, [blue.Endpoint]))))!;
        using var occupied = new TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        var busy = ((IPEndPoint)occupied.LocalEndpoint).Port;

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => router.ApplyAsync(Route((2, 100, [green.Endpoint])) with { ListenPort = busy }).AsTask());

        Assert.Equal(OrchestrationErrorKind.NetworkSetupFailed, error.Kind);
        Assert.Contains("ListenPort", error.Message, StringComparison.Ordinal);
        Assert.Equal(endpoint, router.GetEndpoint(Service));
        Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(endpoint));
    }

    [Fact]
    public async Task An_invalid_route_is_rejected_with_every_problem_listed()
    {
        await using var router = NewRouter();
        var route = new TrafficRoute(Service, [new TrafficBackend(1, 120, []), new TrafficBackend(1, -1, [new ServiceEndpoint("", 0)])]) { ListenPort = 70000 };

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => router.ApplyAsync(route).AsTask());

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Equal(5, error.Errors.Count);
        Assert.Null(router.GetEndpoint(Service));
    }

    [Fact]
    public async Task Bytes_pass_through_unchanged_in_both_directions_and_are_counted()
    {
        await using var echo = new TestBackend("echo", echo: true);
        await using var router = NewRouter();
        var endpoint = (await router.ApplyAsync(Route((1, 100, [echo.Endpoint]))))!;
        var payload = new byte[1024 * 1024 + 17];
        new Random(7).NextBytes(payload);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, endpoint.Port);
        var send = Task.Run(async () =>
        {
            await client.SendAsync(payload, SocketFlags.None);
            client.Shutdown(SocketShutdown.Send);
        });
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await client.ReceiveAsync(buffer, SocketFlags.None)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        await send;
        Assert.Equal(payload, received.ToArray());
        var backend = router.GetStats(Service)!.Backends.Single();
        Assert.Equal(payload.Length, backend.BytesToBackend);
        Assert.Equal(payload.Length, backend.BytesFromBackend);
    }

    [Fact]
    public async Task A_request_sent_and_half_closed_before_the_backend_answers_still_gets_the_whole_answer()
    {
        // The client's request and its end are buffered before the proxy has connected upstream, so the client-to-backend
        // pump can run to its end (half-closing the backend) before the other direction has started.
        await using var echo = new TestBackend("echo", echo: true);
        await using var router = NewRouter();
        var endpoint = (await router.ApplyAsync(Route((1, 100, [echo.Endpoint]))))!;
        var request = "ping-over-a-half-closed-connection"u8.ToArray();

        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(IPAddress.Loopback, endpoint.Port);
            await client.SendAsync(request, SocketFlags.None);
            client.Shutdown(SocketShutdown.Send);

            var received = new MemoryStream();
            var buffer = new byte[1024];
            int read;
            while ((read = await client.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                received.Write(buffer, 0, read);
            }

            Assert.True(request.AsSpan().SequenceEqual(received.ToArray()), $"attempt {attempt}: received {received.Length} of {request.Length} bytes");
        }
    }

    [Fact]
    public async Task Disposing_closes_the_listeners_and_cuts_connections_left_after_the_shutdown_timeout()
    {
        await using var blue = new TestBackend("blue");
        var router = NewRouter(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(200));
        var endpoint = (await router.ApplyAsync(Route((1, 100, [blue.Endpoint]))))!;
        using var open = await RawHttpConnection.OpenAsync(endpoint);
        Assert.Equal("blue", await open.GetAsync());

        await router.DisposeAsync();

        Assert.Null(await open.GetAsync());
        Assert.Null(await RawHttpConnection.GetOnceAsync(endpoint));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => router.ApplyAsync(Route((1, 100, [blue.Endpoint]))).AsTask());
    }

    [Fact]
    public void Invalid_options_are_rejected_with_every_problem_listed()
    {
        var error = Assert.ThrowsAny<Exception>(() => NewRouter(o =>
        {
            o.ListenAddress = "localhost";
            o.ConnectTimeout = TimeSpan.Zero;
            o.BackendRetryAfter = TimeSpan.FromSeconds(-1);
            o.ShutdownTimeout = TimeSpan.FromSeconds(-1);
            o.BufferSize = 10;
            o.ListenBacklog = 0;
        }));

        Assert.Equal(6, OptionsProblems.Of(error, typeof(InProcessRouterOptions)).Count);
    }
}
