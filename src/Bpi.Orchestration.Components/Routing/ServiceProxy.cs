using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Bpi.Orchestration.Components;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Routing;

/// <summary>One service of the in-process router: its listener, its current route and its counters.</summary>
internal sealed class ServiceProxy
{
    private readonly InProcessTrafficRouter _router;
    private readonly ConcurrentDictionary<(int Revision, ServiceEndpoint Endpoint), BackendState> _backends = new();
    private WeightedRoute _route = WeightedRoute.Empty;
    private Socket? _listener;
    private long _accepted;
    private long _rejected;
    private long _active;

    private ServiceProxy(string serviceId, InProcessTrafficRouter router)
    {
        ServiceId = serviceId;
        _router = router;
    }

    public string ServiceId { get; }

    public ServiceEndpoint Endpoint { get; private set; } = null!;

    /// <summary>Binds a listener (port 0 lets the OS choose) and starts accepting.</summary>
    public static ServiceProxy Start(string serviceId, IPAddress address, int port, InProcessTrafficRouter router)
    {
        var proxy = new ServiceProxy(serviceId, router);
        proxy.Listen(address, port);
        return proxy;
    }

    /// <summary>Moves the service to another port: the new listener starts before the old one closes; open connections are not affected.</summary>
    public void Listen(IPAddress address, int port)
    {
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(address, port));
            listener.Listen(_router.Options.ListenBacklog);
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new OrchestrationException(
                OrchestrationErrorKind.NetworkSetupFailed,
                $"Service '{ServiceId}' cannot listen on {address}:{port.ToString(CultureInfo.InvariantCulture)}: {ex.Message}. Choose a free TrafficRoute.ListenPort, or leave it null to let the router pick one; the previous route stays live.",
                ex);
        }

        var bound = (IPEndPoint)listener.LocalEndPoint!;
        var previous = Interlocked.Exchange(ref _listener, listener);
        Endpoint = new ServiceEndpoint(bound.Address.ToString(), bound.Port, ServiceId);
        _ = AcceptLoopAsync(listener);
        previous?.Dispose();
        Log.ServiceListening(_router.Logger, ServiceId, Endpoint.ToString());
    }

    /// <summary>Replaces the route; new connections use it at once, open ones keep their backend.</summary>
    public void Apply(TrafficRoute route)
    {
        var entries = new List<(BackendState, int, int)>();
        foreach (var backend in route.Backends)
        {
            foreach (var endpoint in backend.Endpoints.Distinct())
            {
                var state = _backends.GetOrAdd((backend.Revision, endpoint), key => new BackendState(key.Revision, key.Endpoint));
                entries.Add((state, backend.Weight, backend.Endpoints.Distinct().Count()));
            }
        }

        Volatile.Write(ref _route, new WeightedRoute(entries));
    }

    /// <summary>Stops accepting; open connections go on.</summary>
    public void StopListening() => Interlocked.Exchange(ref _listener, null)?.Dispose();

    public long ActiveConnections => Interlocked.Read(ref _active);

    public TrafficRouteStats GetStats()
    {
        var route = Volatile.Read(ref _route);
        var now = _router.Time.GetTimestamp();
        var backends = _backends.Values
            .OrderBy(b => b.Revision)
            .ThenBy(b => b.Endpoint.Host, StringComparer.Ordinal)
            .ThenBy(b => b.Endpoint.Port)
            .Select(b =>
            {
                var index = IndexOf(route.Backends, b);
                return new TrafficBackendStats(
                    b.Revision,
                    b.Endpoint,
                    index < 0 ? 0 : route.Shares[index],
                    index >= 0,
                    !b.IsDown(now),
                    Interlocked.Read(ref b.Connections),
                    Interlocked.Read(ref b.Active),
                    Interlocked.Read(ref b.Refused),
                    Interlocked.Read(ref b.BytesToBackend),
                    Interlocked.Read(ref b.BytesFromBackend));
            })
            .ToList();
        return new TrafficRouteStats(ServiceId, Endpoint, Interlocked.Read(ref _accepted), Interlocked.Read(ref _rejected), ActiveConnections, backends);
    }

    private static int IndexOf(IReadOnlyList<BackendState> backends, BackendState backend)
    {
        for (var i = 0; i < backends.Count; i++)
        {
            if (ReferenceEquals(backends[i], backend))
            {
                return i;
            }
        }

        return -1;
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.Shutdown)
            {
                return;
            }
            catch (SocketException ex)
            {
                // For example, too many open files: say so, give the system a moment, and keep serving.
                Log.AcceptFailed(_router.Logger, ex, ServiceId);
                await Task.Delay(TimeSpan.FromMilliseconds(50), _router.Time).ConfigureAwait(false);
                continue;
            }

            Interlocked.Increment(ref _accepted);
            _ = HandleAsync(client);
        }
    }

    private async Task HandleAsync(Socket client)
    {
        client.NoDelay = true;
        var connection = new ProxyConnection(client);
        Interlocked.Increment(ref _active);
        _router.Track(connection);
        BackendState? backend = null;
        try
        {
            backend = await ConnectAsync(connection).ConfigureAwait(false);
            if (backend is null)
            {
                Interlocked.Increment(ref _rejected);
                Log.ConnectionRejected(_router.Logger, ServiceId);
                return;
            }

            var upstream = connection.Upstream!;

            // Both streams exist before either pump runs: a pump can run to its end synchronously (the client's whole
            // request already buffered) and half-close its target, and .NET then reports that socket as not connected,
            // which a NetworkStream created afterwards refuses.
            using var fromClient = new NetworkStream(client, ownsSocket: false);
            using var fromUpstream = new NetworkStream(upstream, ownsSocket: false);
            var toBackend = PumpAsync(fromClient, upstream, backend, toBackend: true);
            var fromBackend = PumpAsync(fromUpstream, client, backend, toBackend: false);
            if (!await (await Task.WhenAny(toBackend, fromBackend).ConfigureAwait(false)).ConfigureAwait(false))
            {
                connection.Abort(); // A reset on one side resets the other.
            }

            await Task.WhenAll(toBackend, fromBackend).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Nothing awaits this connection's task: a fault here would go unobserved, so say it and close the connection.
            Log.ConnectionFailed(_router.Logger, ex, ServiceId);
        }
        finally
        {
            if (backend is not null)
            {
                Interlocked.Decrement(ref backend.Active);
            }

            connection.Abort();
            Interlocked.Decrement(ref _active);
            _router.Untrack(connection);
        }
    }

    /// <summary>Connects to the next weighted pick, skipping (and reporting) backends that refuse, until one accepts or none is left.</summary>
    private async Task<BackendState?> ConnectAsync(ProxyConnection connection)
    {
        var route = Volatile.Read(ref _route);
        var time = _router.Time;
        List<BackendState>? tried = null;
        while (route.Pick(tried, time.GetTimestamp()) is { } backend)
        {
            var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            connection.Upstream = upstream;
            try
            {
                using var timeout = new CancellationTokenSource(_router.Options.ConnectTimeout, time);
                await upstream.ConnectAsync(ToEndPoint(backend.Endpoint), timeout.Token).ConfigureAwait(false);
                Interlocked.Increment(ref backend.Connections);
                Interlocked.Increment(ref backend.Active);
                if (Interlocked.Exchange(ref backend.DownUntil, 0) != 0)
                {
                    Log.BackendRecovered(_router.Logger, ServiceId, backend.Endpoint.ToString(), backend.Revision);
                }

                return backend;
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                upstream.Dispose();
                connection.Upstream = null;
                Interlocked.Increment(ref backend.Refused);
                var retryAfter = _router.Options.BackendRetryAfter;
                var until = time.GetTimestamp() + Math.Max(1, (long)(retryAfter.TotalSeconds * time.TimestampFrequency));
                if (Interlocked.Exchange(ref backend.DownUntil, until) == 0)
                {
                    var reason = ex is SocketException socket ? socket.SocketErrorCode.ToString() : "timed out after " + _router.Options.ConnectTimeout;
                    Log.BackendRefused(_router.Logger, ServiceId, backend.Endpoint.ToString(), backend.Revision, reason, retryAfter);
                }

                (tried ??= []).Add(backend);
            }
        }

        return null;
    }

    private static EndPoint ToEndPoint(ServiceEndpoint endpoint)
        => IPAddress.TryParse(endpoint.Host, out var address) ? new IPEndPoint(address, endpoint.Port) : new DnsEndPoint(endpoint.Host, endpoint.Port);

    /// <summary>Copies one direction until its end, then half-closes the other side. Returns <see langword="false"/> when the connection broke.</summary>
    private async Task<bool> PumpAsync(NetworkStream stream, Socket to, BackendState backend, bool toBackend)
    {
        var size = _router.Options.BufferSize;
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: size, minimumReadSize: Math.Min(size, 4096), leaveOpen: true));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    var sent = 0;
                    while (sent < segment.Length)
                    {
                        sent += await to.SendAsync(segment[sent..], SocketFlags.None).ConfigureAwait(false);
                    }
                }

                if (!buffer.IsEmpty)
                {
                    Interlocked.Add(ref toBackend ? ref backend.BytesToBackend : ref backend.BytesFromBackend, buffer.Length);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            try
            {
                to.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // The other side is already closed; nothing is left to tell it.
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return false;
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>An open proxied connection: the client's socket and, once connected, the backend's.</summary>
internal sealed class ProxyConnection(Socket client)
{
    public Socket Client { get; } = client;

    public Socket? Upstream { get; set; }

    /// <summary>Closes both sides at once (pending reads and writes end with an error).</summary>
    public void Abort()
    {
        Client.Dispose();
        Upstream?.Dispose();
    }
}
