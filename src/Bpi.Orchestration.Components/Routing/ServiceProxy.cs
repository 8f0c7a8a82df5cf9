using System.Buffers;
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
    /// <summary>The most bytes of a request kept for a retry on another backend; a longer request is not retried.</summary>
    private const int ReplayLimit = 64 * 1024;

    private WeightedRoute _route = WeightedRoute.Empty;
    private Socket? _listener;
    private long _accepted;
    private long _rejected;
    private long _active;
    private long _retried;

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
        return new TrafficRouteStats(ServiceId, Endpoint, Interlocked.Read(ref _accepted), Interlocked.Read(ref _rejected), ActiveConnections, backends) { RequestsRetried = RequestsRetried };
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
        Exchange? exchange = null;
        try
        {
            var backend = await ConnectAsync(connection, tried: null).ConfigureAwait(false);
            if (backend is null)
            {
                Interlocked.Increment(ref _rejected);
                Log.ConnectionRejected(_router.Logger, ServiceId);
                return;
            }

            exchange = new Exchange(connection.Upstream!, backend);

            // The client's stream exists before either pump runs: a pump can run to its end synchronously (the client's
            // whole request already buffered) and half-close its target, and .NET then reports that socket as not
            // connected, which a NetworkStream created afterwards refuses. The backend side is read from its socket
            // directly, as the socket changes when the request is retried on another backend.
            using var fromClient = new NetworkStream(client, ownsSocket: false);
            var toBackend = PumpToBackendAsync(fromClient, exchange);
            var fromBackend = PumpFromBackendAsync(connection, exchange);
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
            if (exchange is not null)
            {
                Interlocked.Decrement(ref exchange.Backend.Active);
            }

            connection.Abort();
            Interlocked.Decrement(ref _active);
            _router.Untrack(connection);
        }
    }

    public long RequestsRetried => Interlocked.Read(ref _retried);

    /// <summary>Connects to the next weighted pick, skipping (and reporting) backends that refuse, until one accepts or none is left.</summary>
    private async Task<BackendState?> ConnectAsync(ProxyConnection connection, List<BackendState>? tried)
    {
        var route = Volatile.Read(ref _route);
        var time = _router.Time;
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
                MarkDown(backend, ex is SocketException socket ? socket.SocketErrorCode.ToString() : "timed out after " + _router.Options.ConnectTimeout);
                (tried ??= []).Add(backend);
            }
        }

        return null;
    }

    /// <summary>New connections skip the backend for <see cref="InProcessRouterOptions.BackendRetryAfter"/> (unless no other is available).</summary>
    private void MarkDown(BackendState backend, string reason)
    {
        var time = _router.Time;
        var retryAfter = _router.Options.BackendRetryAfter;
        var until = time.GetTimestamp() + Math.Max(1, (long)(retryAfter.TotalSeconds * time.TimestampFrequency));
        if (Interlocked.Exchange(ref backend.DownUntil, until) == 0)
        {
            Log.BackendRefused(_router.Logger, ServiceId, backend.Endpoint.ToString(), backend.Revision, reason, retryAfter);
        }
    }

    private static EndPoint ToEndPoint(ServiceEndpoint endpoint)
        => IPAddress.TryParse(endpoint.Host, out var address) ? new IPEndPoint(address, endpoint.Port) : new DnsEndPoint(endpoint.Host, endpoint.Port);

    /// <summary>
    /// Copies the client's bytes to the current backend until the client's end, then half-closes the backend. Until the
    /// backend answers, the bytes are also kept for a retry (<see cref="Exchange"/>); a send that fails then waits for the
    /// retry instead of breaking the connection. Returns <see langword="false"/> when the connection broke.
    /// </summary>
    private async Task<bool> PumpToBackendAsync(NetworkStream stream, Exchange exchange)
    {
        var size = _router.Options.BufferSize;
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: size, minimumReadSize: Math.Min(size, 4096), leaveOpen: true));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                Socket target;
                BackendState backend;
                await exchange.Gate.WaitAsync().ConfigureAwait(false);
                try
                {
                    exchange.Keep(buffer, ReplayLimit);
                    (target, backend) = (exchange.Upstream, exchange.Backend);
                }
                finally
                {
                    exchange.Gate.Release();
                }

                try
                {
                    foreach (var segment in buffer)
                    {
                        var sent = 0;
                        while (sent < segment.Length)
                        {
                            sent += await target.SendAsync(segment[sent..], SocketFlags.None).ConfigureAwait(false);
                        }
                    }
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // The backend broke before it answered: the retry (if the request may be retried) sends what was kept.
                    if (!await exchange.WaitForRetryAsync(target).ConfigureAwait(false))
                    {
                        return false;
                    }
                }

                if (!buffer.IsEmpty)
                {
                    Interlocked.Add(ref backend.BytesToBackend, buffer.Length);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            await exchange.Gate.WaitAsync().ConfigureAwait(false);
            try
            {
                exchange.ClientDone = true;
                ShutdownSend(exchange.Upstream);
            }
            finally
            {
                exchange.Gate.Release();
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

    /// <summary>
    /// Copies the backend's bytes to the client until the backend's end, then half-closes the client. When the backend
    /// closes or resets the connection before it answered, the request is retried on another backend
    /// (<see cref="TryRetryAsync"/>). For a request that may be retried, the answer's head (up to its blank line, at most
    /// the replay limit) is held back until it is whole: a backend killed after writing only its status line (a CGI
    /// server writes it before the script runs) has then sent the client nothing, and the request is retried rather
    /// than cut off. Returns <see langword="false"/> when the connection broke.
    /// </summary>
    private async Task<bool> PumpFromBackendAsync(ProxyConnection connection, Exchange exchange)
    {
        var buffer = new byte[_router.Options.BufferSize];
        var client = connection.Client;
        var head = new AnswerHead();
        while (true)
        {
            // Only this pump replaces the upstream, so it reads it without the gate.
            var source = exchange.Upstream;
            int read;
            string? failure = null;
            try
            {
                read = await source.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                read = -1;
                failure = ex is SocketException socket ? socket.SocketErrorCode.ToString() : "closed";
            }

            if (read <= 0)
            {
                if (!exchange.Answered && await TryRetryAsync(connection, exchange, failure ?? "closed the connection before answering").ConfigureAwait(false))
                {
                    // What the broken backend began to answer is dropped: the client never saw it.
                    head.Clear();
                    continue;
                }

                // No retry: whatever was held back still goes to the client, as it would have without holding.
                if (head.Length > 0 && !await SendToClientAsync(client, head.Held).ConfigureAwait(false))
                {
                    return false;
                }

                head.Clear();
                if (read == 0)
                {
                    ShutdownSend(client);
                    return true;
                }

                return false;
            }

            var chunk = buffer.AsMemory(0, read);
            if (!exchange.Answered)
            {
                await exchange.Gate.WaitAsync().ConfigureAwait(false);
                try
                {
                    if (head.Length == 0 && !head.Holding)
                    {
                        head.Holding = _router.Options.MaxRequestRetries > 0 && exchange.MayReplay();
                    }

                    if (head.Holding && !head.Append(chunk.Span, ReplayLimit))
                    {
                        // The head is not whole yet: nothing goes to the client, so a break now can still be retried.
                        Interlocked.Add(ref exchange.Backend.BytesFromBackend, read);
                        continue;
                    }

                    exchange.MarkAnswered();
                }
                finally
                {
                    exchange.Gate.Release();
                }

                if (head.Length > 0)
                {
                    // The held head with this read's bytes in it: sent whole, once.
                    var held = head.Held;
                    head.Clear();
                    if (!await SendToClientAsync(client, held).ConfigureAwait(false))
                    {
                        return false;
                    }

                    Interlocked.Add(ref exchange.Backend.BytesFromBackend, read);
                    continue;
                }
            }

            if (!await SendToClientAsync(client, chunk).ConfigureAwait(false))
            {
                return false;
            }

            Interlocked.Add(ref exchange.Backend.BytesFromBackend, read);
        }
    }

    private static async Task<bool> SendToClientAsync(Socket client, ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var sent = 0;
            while (sent < bytes.Length)
            {
                sent += await client.SendAsync(bytes[sent..], SocketFlags.None).ConfigureAwait(false);
            }

            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// The start of a backend's answer held back until its head (status line and headers, up to the blank line) is whole,
    /// for a request that may still be retried.
    /// </summary>
    private sealed class AnswerHead
    {
        private byte[] _bytes = [];

        public bool Holding { get; set; }

        public int Length { get; private set; }

        public ReadOnlyMemory<byte> Held => _bytes.AsMemory(0, Length);

        /// <summary>Adds a read; true when the head is now whole (or too long to hold): it is sent and nothing more is held.</summary>
        public bool Append(ReadOnlySpan<byte> read, int limit)
        {
            if (_bytes.Length < Length + read.Length)
            {
                Array.Resize(ref _bytes, Math.Max(Length + read.Length, Math.Max(256, _bytes.Length * 2)));
            }

            read.CopyTo(_bytes.AsSpan(Length));
            Length += read.Length;
            // The blank line ends the head; servers (and CGI scripts behind them) end lines with CRLF or a bare LF.
            var held = _bytes.AsSpan(0, Length);
            return Length >= limit || held.IndexOf("\n\n"u8) >= 0 || held.IndexOf("\n\r\n"u8) >= 0;
        }

        public void Clear()
        {
            Length = 0;
            Holding = false;
        }
    }

    /// <summary>
    /// Retries a request whose backend broke before answering on another backend, as nginx's <c>proxy_next_upstream error</c>:
    /// only while nothing was answered, only an idempotent HTTP method (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) whose bytes
    /// so far fit the replay buffer, at most <see cref="InProcessRouterOptions.MaxRequestRetries"/> times, never on a
    /// backend already tried. The broken backend is skipped by new connections as one that refused.
    /// </summary>
    private async Task<bool> TryRetryAsync(ProxyConnection connection, Exchange exchange, string reason)
    {
        await exchange.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var failed = exchange.Backend;
            if (exchange.Answered || exchange.Retries >= _router.Options.MaxRequestRetries || !exchange.MayReplay())
            {
                exchange.GiveUp();
                return false;
            }

            MarkDown(failed, reason);
            exchange.Tried.Add(failed);
            while (exchange.Retries < _router.Options.MaxRequestRetries)
            {
                exchange.Retries++;
                Interlocked.Decrement(ref exchange.Backend.Active);
                exchange.Upstream.Dispose();
                var next = await ConnectAsync(connection, exchange.Tried).ConfigureAwait(false);
                if (next is null)
                {
                    // Nothing to decrement when this connection ends: it holds no backend.
                    Interlocked.Increment(ref exchange.Backend.Active);
                    break;
                }

                exchange.Tried.Add(next);
                var upstream = connection.Upstream!;
                try
                {
                    if (exchange.Kept.Length > 0)
                    {
                        var kept = exchange.Kept;
                        var sent = 0;
                        while (sent < kept.Length)
                        {
                            sent += await upstream.SendAsync(kept[sent..], SocketFlags.None).ConfigureAwait(false);
                        }
                    }

                    if (exchange.ClientDone)
                    {
                        ShutdownSend(upstream);
                    }
                }
                catch (SocketException)
                {
                    exchange.Retarget(upstream, next);
                    MarkDown(next, "reset while the request was retried");
                    continue;
                }

                Interlocked.Increment(ref _retried);
                Log.RequestRetried(_router.Logger, ServiceId, failed.Endpoint.ToString(), failed.Revision, reason, next.Endpoint.ToString(), exchange.Retries);
                exchange.Retarget(upstream, next);
                exchange.Retried();
                return true;
            }

            exchange.GiveUp();
            return false;
        }
        finally
        {
            exchange.Gate.Release();
        }
    }

    private static void ShutdownSend(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The other side is already closed; nothing is left to tell it.
        }
    }

    /// <summary>
    /// One proxied connection's current backend and, until the backend's first byte, the client's bytes sent so far (for
    /// a retry). Fields other than <see cref="Answered"/> change under <see cref="Gate"/>.
    /// </summary>
    private sealed class Exchange(Socket upstream, BackendState backend)
    {
        private static readonly string[] IdempotentMethods = ["GET ", "HEAD ", "OPTIONS ", "PUT ", "DELETE ", "TRACE "];
        private TaskCompletionSource<bool> _retry = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private byte[]? _kept = [];
        private int _length;
        private volatile bool _answered;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public Socket Upstream { get; private set; } = upstream;

        public BackendState Backend { get; private set; } = backend;

        public List<BackendState> Tried { get; } = [];

        public int Retries { get; set; }

        public bool ClientDone { get; set; }

        /// <summary>Whether the backend sent anything: from then on the connection is never retried.</summary>
        public bool Answered => _answered;

        public ReadOnlyMemory<byte> Kept => _kept is null ? default : _kept.AsMemory(0, _length);

        /// <summary>Keeps the client's bytes for a retry while nothing was answered; past <paramref name="limit"/> bytes, none are kept (no retry).</summary>
        public void Keep(ReadOnlySequence<byte> buffer, int limit)
        {
            if (_kept is null || _answered || buffer.IsEmpty)
            {
                return;
            }

            if (_length + buffer.Length > limit)
            {
                _kept = null;
                return;
            }

            if (_kept.Length < _length + buffer.Length)
            {
                Array.Resize(ref _kept, Math.Min(limit, Math.Max(_kept.Length * 2, _length + (int)buffer.Length)));
            }

            buffer.CopyTo(_kept.AsSpan(_length));
            _length += (int)buffer.Length;
        }

        /// <summary>Whether what the client sent may go to another backend: nothing yet, or (the start of) an idempotent HTTP request that fits the buffer.</summary>
        public bool MayReplay()
        {
            if (_kept is null)
            {
                return false;
            }

            var sent = _kept.AsSpan(0, _length);
            foreach (var method in IdempotentMethods)
            {
                var length = Math.Min(sent.Length, method.Length);
                var matches = true;
                for (var i = 0; i < length && matches; i++)
                {
                    matches = sent[i] == method[i];
                }

                if (matches)
                {
                    return true;
                }
            }

            return false;
        }

        public void MarkAnswered()
        {
            _answered = true;
            _kept = null;
            _retry.TrySetResult(false);
        }

        public void Retarget(Socket upstream, BackendState backend) => (Upstream, Backend) = (upstream, backend);

        /// <summary>Releases a client pump waiting for the retry: the kept bytes went to the new backend.</summary>
        public void Retried()
        {
            var retry = _retry;
            _retry = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            retry.TrySetResult(true);
        }

        public void GiveUp()
        {
            _kept = null;
            _retry.TrySetResult(false);
        }

        /// <summary>After a send to <paramref name="target"/> failed: whether the connection goes on on another backend.</summary>
        public async Task<bool> WaitForRetryAsync(Socket target)
        {
            Task<bool> retry;
            await Gate.WaitAsync().ConfigureAwait(false);
            try
            {
                if (!ReferenceEquals(Upstream, target))
                {
                    return true;
                }

                if (_answered || _kept is null)
                {
                    return false;
                }

                retry = _retry.Task;
            }
            finally
            {
                Gate.Release();
            }

            return await retry.ConfigureAwait(false);
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
