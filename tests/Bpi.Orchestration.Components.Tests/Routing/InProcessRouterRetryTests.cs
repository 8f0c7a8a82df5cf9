using System.Net;
using System.Net.Sockets;
using System.Text;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Options;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Routing;

/// <summary>The router's retry of a request whose backend breaks the connection before answering (a replica killed mid-request).</summary>
public sealed class InProcessRouterRetryTests
{
    private const string Service = "shop/web";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SelfHealing_router_sends_a_GET_again_to_another_backend_when_its_backend_closes_or_resets_before_answering(bool reset)
    {
        await using var good = new TestBackend("good");
        using var broken = new BreakingBackend(reset);
        await using var router = new InProcessTrafficRouter(Options.Create(new InProcessRouterOptions { BackendRetryAfter = TimeSpan.Zero }));
        var endpoint = (await router.ApplyAsync(new TrafficRoute(Service, [new TrafficBackend(1, 100, [broken.Endpoint, good.Endpoint])])))!;

        var answers = new List<string?>();
        for (var i = 0; i < 20; i++)
        {
            answers.Add(await RawHttpConnection.GetOnceAsync(endpoint));
        }

        Assert.All(answers, a => Assert.Equal("good", a));
        Assert.True(broken.Requests >= 10, $"the broken backend got {broken.Requests} of the 20 requests first");
        var stats = router.GetStats(Service)!;
        Assert.Equal(broken.Requests, stats.RequestsRetried);
    }

    [Fact]
    public async Task SelfHealing_router_sends_a_GET_again_when_its_backend_dies_after_only_its_status_line()
    {
        // A CGI server (busybox httpd) writes the status line before the script runs: a container killed then has begun
        // to answer. The router holds an answer's head until it is whole, so the client saw nothing and the GET is retried.
        await using var good = new TestBackend("good");
        using var broken = new BreakingBackend(reset: false, partialAnswer: "HTTP/1.0 200 OK\r\n");
        await using var router = new InProcessTrafficRouter(Options.Create(new InProcessRouterOptions { BackendRetryAfter = TimeSpan.Zero }));
        var endpoint = (await router.ApplyAsync(new TrafficRoute(Service, [new TrafficBackend(1, 100, [broken.Endpoint, good.Endpoint])])))!;

        var answers = new List<string?>();
        for (var i = 0; i < 20; i++)
        {
            answers.Add(await RawHttpConnection.GetOnceAsync(endpoint));
        }

        Assert.All(answers, a => Assert.Equal("good", a));
        Assert.True(broken.Requests >= 10, $"the broken backend got {broken.Requests} of the 20 requests first");
        Assert.Equal(broken.Requests, router.GetStats(Service)!.RequestsRetried);

        // A POST is never sent again: the client gets what the backend said, status line and all.
        await using var postRouter = new InProcessTrafficRouter(Options.Create(new InProcessRouterOptions { BackendRetryAfter = TimeSpan.Zero }));
        var postEndpoint = (await postRouter.ApplyAsync(new TrafficRoute(Service, [new TrafficBackend(1, 100, [broken.Endpoint])])))!;
        Assert.Equal("HTTP/1.0 200 OK\r\n", await SendAsync(postEndpoint, "POST /work HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"));
    }

    [Fact]
    public async Task SelfHealing_router_never_sends_a_POST_again_and_retries_nothing_when_turned_off()
    {
        await using var good = new TestBackend("good");
        using var broken = new BreakingBackend(reset: false);
        await using var router = new InProcessTrafficRouter(Options.Create(new InProcessRouterOptions { BackendRetryAfter = TimeSpan.Zero }));
        var endpoint = (await router.ApplyAsync(new TrafficRoute(Service, [new TrafficBackend(1, 100, [broken.Endpoint])])))!;
        Assert.Null(await SendAsync(endpoint, "POST /work HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"));

        await using var off = new InProcessTrafficRouter(Options.Create(new InProcessRouterOptions { BackendRetryAfter = TimeSpan.Zero, MaxRequestRetries = 0 }));
        var offEndpoint = (await off.ApplyAsync(new TrafficRoute(Service, [new TrafficBackend(1, 100, [broken.Endpoint, good.Endpoint])])))!;
        var answers = new List<string?>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await SendAsync(offEndpoint, "GET /work HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        }

        Assert.Equal(2, answers.Count(a => a is null));
        Assert.Equal(0, router.GetStats(Service)!.RequestsRetried);
        Assert.Equal(0, off.GetStats(Service)!.RequestsRetried);
    }

    [Fact]
    public void SelfHealing_router_options_reject_a_negative_retry_count()
    {
        var problems = OptionsProblems.Of(Assert.ThrowsAny<Exception>(() => new InProcessTrafficRouter(Options.Create(new InProcessRouterOptions { MaxRequestRetries = -1 }))), typeof(InProcessRouterOptions));
        Assert.Equal(["InProcessRouterOptions.MaxRequestRetries: -1 is outside 0..10; use 0 (no retries) to 10."], problems);
    }

    /// <summary>Sends raw bytes on a new connection and returns what came back, or null when nothing did.</summary>
    private static async Task<string?> SendAsync(ServiceEndpoint endpoint, string request)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Parse(endpoint.Host), endpoint.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);
        var received = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (SocketException)
        {
        }

        return received.Length == 0 ? null : received.ToString();
    }

    /// <summary>Accepts, reads the request, then closes (or resets) the connection without answering, or after the start of an answer: a replica killed mid-request.</summary>
    private sealed class BreakingBackend : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly bool _reset;
        private readonly byte[] _partialAnswer;
        private int _requests;

        public BreakingBackend(bool reset, string partialAnswer = "")
        {
            _reset = reset;
            _partialAnswer = Encoding.ASCII.GetBytes(partialAnswer);
            _listener.Start();
            Endpoint = new ServiceEndpoint("127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);
            _ = AcceptAsync();
        }

        public ServiceEndpoint Endpoint { get; }

        public int Requests => Volatile.Read(ref _requests);

        public void Dispose() => _listener.Stop();

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync();
                    var buffer = new byte[4096];
                    if (await socket.ReceiveAsync(buffer, SocketFlags.None) > 0)
                    {
                        Interlocked.Increment(ref _requests);
                        if (_partialAnswer.Length > 0)
                        {
                            await socket.SendAsync(_partialAnswer, SocketFlags.None);
                        }
                    }

                    if (_reset)
                    {
                        socket.LingerState = new LingerOption(true, 0); // close with RST
                    }

                    socket.Dispose();
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
