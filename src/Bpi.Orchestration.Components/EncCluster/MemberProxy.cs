using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Bpi.Orchestration.Components;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.EncCluster;

/// <summary>
/// The two ends of one EncCluster member's encrypted link, both in the orchestrator's process:
/// the member's TLS listener (mutual TLS 1.3, TLS_AES_256_GCM_SHA384, client certificate required and checked against the
/// cluster CA) that forwards to the member's own port, and a plain listener on the orchestrator's side that the
/// orchestrator's routing and probes and the other members (<c>BPI_ENC_PEERS</c>) connect to, which opens a mutual-TLS
/// connection to the TLS listener. Both addresses stay the same when the member's instance is replaced: only the
/// instance the TLS listener forwards to changes. On Docker the member's TLS end is its sidecar (nginx in the member's
/// network namespace), so the proxy is made without a TLS listener (<c>terminatesTls: false</c>) and its plain listener
/// opens mutual TLS to the sidecar's published port, which <see cref="Assign"/> sets.
/// </summary>
internal sealed class MemberProxy : IAsyncDisposable
{
    private readonly ClusterIdentity _identity;
    private readonly EncClusterOptions _options;
    private readonly ILogger _logger;
    private readonly Socket? _tlsListener;
    private readonly ServiceEndpoint? _ownTlsEndpoint;
    private readonly Socket _plainListener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<Task> _connections = [];
    private volatile ServiceEndpoint? _upstream;
    private long _handshakes;
    private long _refused;

    public MemberProxy(string slot, ClusterIdentity identity, EncClusterOptions options, ILogger logger, bool terminatesTls = true)
    {
        Slot = slot;
        _identity = identity;
        _options = options;
        _logger = logger;
        var address = IPAddress.Parse(options.ListenAddress);
        _plainListener = Listen(address);
        PlainEndpoint = Describe(_plainListener, "http");
        if (terminatesTls)
        {
            _tlsListener = Listen(address);
            _ownTlsEndpoint = Describe(_tlsListener, "enc-tls");
            _ = AcceptLoopAsync(_tlsListener, ServeTlsAsync);
        }

        _ = AcceptLoopAsync(_plainListener, ServePlainAsync);
        Log.EncMemberListening(logger, identity.DeploymentId, slot, TlsEndpoint.ToString(), PlainEndpoint.ToString());
    }

    public string Slot { get; }

    /// <summary>The member's mutual-TLS listener: this proxy's own, or (without one) the member's sidecar it is assigned to (port 0 while unassigned).</summary>
    public ServiceEndpoint TlsEndpoint => _ownTlsEndpoint ?? (_upstream ?? new ServiceEndpoint(_options.ListenAddress, 0)) with { Name = "enc-tls" };

    /// <summary>The orchestrator-side plain listener that encrypts to <see cref="TlsEndpoint"/>.</summary>
    public ServiceEndpoint PlainEndpoint { get; }

    /// <summary>The runtime instance the member currently is, or <see langword="null"/> while it has none.</summary>
    public string? InstanceId { get; private set; }

    public long Handshakes => Interlocked.Read(ref _handshakes);

    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Points the member at an instance (a replacement keeps both listeners' addresses).</summary>
    public void Assign(string? instanceId, ServiceEndpoint? upstream)
    {
        if (InstanceId == instanceId && Equals(_upstream, upstream))
        {
            return;
        }

        InstanceId = instanceId;
        _upstream = upstream;
        if (instanceId is not null && upstream is not null)
        {
            Log.EncMemberAssigned(_logger, _identity.DeploymentId, Slot, instanceId, upstream.ToString());
        }
    }

    private static Socket Listen(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, 0));
            socket.Listen(512);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new OrchestrationException(OrchestrationErrorKind.NetworkSetupFailed, $"EncCluster cannot listen on {address}: {ex.Message}; check EncClusterOptions.ListenAddress.", ex);
        }
    }

    private static ServiceEndpoint Describe(Socket socket, string name)
    {
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        return new ServiceEndpoint(bound.Address.ToString(), bound.Port, name);
    }

    private async Task AcceptLoopAsync(Socket listener, Func<Socket, CancellationToken, Task> serve)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            accepted.NoDelay = true;
            var task = Task.Run(() => serve(accepted, _stopping.Token));
            lock (_connections)
            {
                _connections.Add(task);
            }

            _ = task.ContinueWith(t => { lock (_connections) { _connections.Remove(t); } }, TaskScheduler.Default);
        }
    }

    private async Task ServeTlsAsync(Socket client, CancellationToken cancellationToken)
    {
        using var clientStream = new NetworkStream(client, ownsSocket: true);
        using var tls = new SslStream(clientStream, leaveInnerStreamOpen: false);
        string? refusal = null;
        try
        {
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                handshake.CancelAfter(_options.HandshakeTimeout);
                await tls.AuthenticateAsServerAsync(EncTls.ServerOptions(_identity, reason => refusal = reason), handshake.Token).ConfigureAwait(false);
            }

            Interlocked.Increment(ref _handshakes);
            if (_upstream is not { } upstream)
            {
                return; // no instance yet: closing is the answer a dead backend gives
            }

            using var backend = await ConnectAsync(upstream, cancellationToken).ConfigureAwait(false);
            await RelayAsync(tls, backend, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            if (refusal is not null || !tls.IsAuthenticated)
            {
                Interlocked.Increment(ref _refused);
                Log.EncConnectionRefused(_logger, _identity.DeploymentId, TlsEndpoint.ToString(), refusal ?? ex.Message);
            }
            else
            {
                Log.EncConnectionFailed(_logger, ex, _identity.DeploymentId, TlsEndpoint.ToString());
            }
        }
    }

    private async Task ServePlainAsync(Socket client, CancellationToken cancellationToken)
    {
        using var plain = new NetworkStream(client, ownsSocket: true);
        try
        {
            if ((_ownTlsEndpoint ?? _upstream) is not { } target)
            {
                return; // no instance yet: closing is the answer a dead backend gives
            }

            using var member = await ConnectAsync(target, cancellationToken).ConfigureAwait(false);
            using var tls = new SslStream(member, leaveInnerStreamOpen: false);
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                handshake.CancelAfter(_options.HandshakeTimeout);
                await tls.AuthenticateAsClientAsync(EncTls.ClientOptions(_identity), handshake.Token).ConfigureAwait(false);
            }

            await RelayAsync(tls, plain, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Log.EncConnectionFailed(_logger, ex, _identity.DeploymentId, PlainEndpoint.ToString());
        }
    }

    private async Task<NetworkStream> ConnectAsync(ServiceEndpoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connect.CancelAfter(_options.ConnectTimeout);
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, connect.Token).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Copies both ways until both sides have finished; a side that ends its output gets its peer's output ended too.</summary>
    private static async Task RelayAsync(SslStream tls, NetworkStream plain, CancellationToken cancellationToken)
    {
        var toPlain = CopyAsync(tls, plain, () => { plain.Socket.Shutdown(SocketShutdown.Send); return Task.CompletedTask; }, cancellationToken);
        var toTls = CopyAsync(plain, tls, () => tls.ShutdownAsync(), cancellationToken);
        await Task.WhenAll(toPlain, toTls).ConfigureAwait(false);
    }

    private static async Task CopyAsync(Stream from, Stream to, Func<Task> endOutput, CancellationToken cancellationToken)
    {
        try
        {
            await from.CopyToAsync(to, 16 * 1024, cancellationToken).ConfigureAwait(false);
            await endOutput().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // One side reset or closed: the other copy ends on its own when the streams are disposed.
            to.Dispose();
            from.Dispose();
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Slot} tls={TlsEndpoint} plain={PlainEndpoint}");

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _tlsListener?.Dispose();
        _plainListener.Dispose();
        Task[] open;
        lock (_connections)
        {
            open = [.. _connections];
        }

        await Task.WhenAll(open).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
