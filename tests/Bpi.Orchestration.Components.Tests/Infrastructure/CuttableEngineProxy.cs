using System.Net;
using System.Net.Sockets;

namespace Bpi.Orchestration.Components.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy in front of the Docker Engine's unix socket that a test can cut and restore, as if the engine
/// stopped and came back, without touching the shared dockerd. While cut it accepts each connection and drops it at once
/// (the client sees the engine vanish mid-call), counting every such attempt.
/// </summary>
internal sealed class CuttableEngineProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _socketPath;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Socket> _live = [];
    private readonly Task _accepting;
    private volatile bool _cut;
    private int _connections;
    private int _droppedWhileCut;

    public CuttableEngineProxy(string socketPath = "/var/run/docker.sock")
    {
        _socketPath = socketPath;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The <c>DOCKER_HOST</c>-style address of the proxy.</summary>
    public string Host => $"tcp://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Every connection accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Connections (one per call attempt: a dropped connection is never reused) dropped while cut.</summary>
    public int DroppedWhileCut => Volatile.Read(ref _droppedWhileCut);

    /// <summary>Drops every open connection and every new one until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _cut = true;
        lock (_gate)
        {
            foreach (var socket in _live)
            {
                socket.Close(0);
            }

            _live.Clear();
        }
    }

    /// <summary>Forwards connections to the engine again.</summary>
    public void Restore() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stop.Token);
            Interlocked.Increment(ref _connections);
            if (_cut)
            {
                Interlocked.Increment(ref _droppedWhileCut);
                client.Close(0);
                continue;
            }

            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var engine = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await engine.ConnectAsync(new UnixDomainSocketEndPoint(_socketPath), _stop.Token);
            lock (_gate)
            {
                if (_cut)
                {
                    client.Close(0);
                    engine.Close(0);
                    return;
                }

                _live.Add(client);
                _live.Add(engine);
            }

            await Task.WhenAny(PumpAsync(client, engine), PumpAsync(engine, client));
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _live.Remove(client);
                _live.Remove(engine);
            }

            client.Close(0);
            engine.Close(0);
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
