using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Bpi.Orchestration.Components.Tests.Processes;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Components.Tests.Routing;

/// <summary>A tiny loopback HTTP/1.1 backend that answers every request with its name (keep-alive), or echoes raw bytes.</summary>
internal sealed class TestBackend : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly Task _loop;
    private readonly bool _echo;
    private int _requests;

    public TestBackend(string name, bool echo = false)
    {
        Name = name;
        _echo = echo;
        _listener.Start(512);
        Endpoint = new ServiceEndpoint("127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);
        _loop = AcceptAsync();
    }

    public string Name { get; }

    public ServiceEndpoint Endpoint { get; }

    public int Requests => Volatile.Read(ref _requests);

    public int OpenConnections => _open.Count;

    /// <summary>A loopback endpoint nothing listens on (bound then released).</summary>
    public static ServiceEndpoint Refusing()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return new ServiceEndpoint("127.0.0.1", ((IPEndPoint)socket.LocalEndPoint!).Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var socket in _open.Keys)
        {
            socket.Dispose();
        }

        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stop.Token);
            _open.TryAdd(socket, 0);
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        var pending = new StringBuilder();
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                if (_echo)
                {
                    await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                    continue;
                }

                pending.Append(Encoding.ASCII.GetString(buffer, 0, read));
                int end;
                while ((end = pending.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal)) >= 0)
                {
                    var request = pending.ToString(0, end);
                    pending.Remove(0, end + 4);
                    Interlocked.Increment(ref _requests);
                    var close = request.Contains("Connection: close", StringComparison.OrdinalIgnoreCase);
                    var body = Encoding.ASCII.GetBytes(Name);
                    var head = $"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nContent-Type: text/plain\r\n{(close ? "Connection: close\r\n" : "")}\r\n";
                    await socket.SendAsync(Encoding.ASCII.GetBytes(head).Concat(body).ToArray(), SocketFlags.None, _stop.Token);
                    if (close)
                    {
                        socket.Shutdown(SocketShutdown.Send);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            _open.TryRemove(socket, out _);
            socket.Dispose();
        }
    }
}

/// <summary>A raw HTTP/1.1 client over one TCP connection; one request at a time.</summary>
internal sealed class RawHttpConnection : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly byte[] _buffer = new byte[16 * 1024];

    public static async Task<RawHttpConnection> OpenAsync(ServiceEndpoint endpoint)
    {
        var connection = new RawHttpConnection();
        await connection._socket.ConnectAsync(IPAddress.Parse(endpoint.Host), endpoint.Port);
        return connection;
    }

    /// <summary>Sends one GET and returns the body (the backend's name), or null when the connection was closed instead.</summary>
    public async Task<string?> GetAsync(bool close = false, CancellationToken cancellationToken = default)
    {
        var request = "GET / HTTP/1.1\r\nHost: test\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
        try
        {
            await _socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, cancellationToken);
            var received = new StringBuilder();
            while (true)
            {
                var read = await _socket.ReceiveAsync(_buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    return null;
                }

                received.Append(Encoding.ASCII.GetString(_buffer, 0, read));
                var text = received.ToString();
                var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (headEnd < 0)
                {
                    continue;
                }

                var lengthLine = text[..headEnd].Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                var length = int.Parse(lengthLine["Content-Length:".Length..].Trim());
                if (text.Length - headEnd - 4 >= length)
                {
                    return text.Substring(headEnd + 4, length);
                }
            }
        }
        catch (SocketException)
        {
            return null;
        }
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>One request on a new connection (Connection: close).</summary>
    public static async Task<string?> GetOnceAsync(ServiceEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        try
        {
            using var connection = await OpenAsync(endpoint);
            return await connection.GetAsync(close: true, cancellationToken);
        }
        catch (SocketException)
        {
            return null;
        }
    }
}

/// <summary>Keeps every log entry, for assertions on what was reported.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(int EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner.Entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));
    }
}

/// <summary>
/// The blue→green switch under continuous load that every router must pass: four bounded client loops on loopback,
/// one connection per request, while the route goes 100/0 → 50/50 → 0/100. No request may fail, none sent after the
/// switch may reach blue, and every answer must have come from a backend.
/// </summary>
internal static class SwitchUnderLoad
{
    /// <summary>Runs the scenario; the route must already send everything to <paramref name="blue"/>.</summary>
    /// <param name="endpoint">Where the router serves the route.</param>
    /// <param name="blue">The backend of revision 1.</param>
    /// <param name="green">The backend of revision 2.</param>
    /// <param name="setWeights">Applies the route with the given weights of blue and green.</param>
    public static async Task RunAsync(ServiceEndpoint endpoint, TestBackend blue, TestBackend green, Func<int, int, Task> setWeights)
    {
        var switched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var afterSwitch = 0;
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        async Task<(int Ok, int Failed, int BlueAfterSwitch)> ClientAsync()
        {
            int ok = 0, failed = 0, blueAfter = 0;
            for (var i = 0; i < 5000 && !bound.IsCancellationRequested; i++)
            {
                var sentAfterSwitch = switched.Task.IsCompleted;
                var answer = await RawHttpConnection.GetOnceAsync(endpoint, bound.Token);
                if (answer is null)
                {
                    failed++;
                }
                else
                {
                    ok++;
                }

                if (sentAfterSwitch)
                {
                    blueAfter += answer == "blue" ? 1 : 0;
                    if (Interlocked.Increment(ref afterSwitch) >= 400)
                    {
                        break;
                    }
                }
            }

            return (ok, failed, blueAfter);
        }

        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(ClientAsync)).ToList();
        await Eventually.UntilAsync(() => blue.Requests >= 100, "load on blue");
        await setWeights(50, 50);
        await Eventually.UntilAsync(() => green.Requests >= 50, "load on green");
        await setWeights(0, 100);
        switched.SetResult();
        var results = await Task.WhenAll(clients);

        Xunit.Assert.False(bound.IsCancellationRequested, "the clients must finish within the bound");
        Xunit.Assert.Equal(0, results.Sum(r => r.Failed));
        Xunit.Assert.Equal(0, results.Sum(r => r.BlueAfterSwitch));
        Xunit.Assert.True(results.Sum(r => r.Ok) >= 550);
        Xunit.Assert.Equal(blue.Requests + green.Requests, results.Sum(r => r.Ok));
    }
}
