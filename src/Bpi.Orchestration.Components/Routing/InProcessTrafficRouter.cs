using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Bpi.Orchestration.Components;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Routing;

/// <summary>
/// The embedded default traffic router: a weighted TCP proxy inside the orchestrator's process (System.IO.Pipelines
/// over sockets), with one listener per service on <see cref="InProcessRouterOptions.ListenAddress"/>.
/// </summary>
/// <remarks>
/// <para>A service listens on <see cref="TrafficRoute.ListenPort"/>, or on a port the OS chooses; the endpoint
/// <see cref="ApplyAsync"/> returns stays the same across weight changes. Each new connection goes to the next pick of
/// nginx's smooth weighted round-robin over the route's endpoints (a revision's weight is divided evenly among its
/// endpoints), which is deterministic: weights 10/90 send exactly one connection in ten to the first revision, evenly
/// spread. A weight change applies to new connections at once and never cuts open ones.</para>
/// <para>A backend that refuses a connection (or does not accept it within <see cref="InProcessRouterOptions.ConnectTimeout"/>)
/// is skipped: the connection goes to the next pick, the refusal is counted and logged, and new connections avoid the
/// backend for <see cref="InProcessRouterOptions.BackendRetryAfter"/> unless no other is available. When no backend
/// accepts, the client's connection is closed and counted as rejected.</para>
/// <para>A backend that accepts a connection but closes or resets it before its first byte (a replica killed with the
/// request in flight) is skipped the same way, and an idempotent HTTP request on that connection is sent again to another
/// backend (<see cref="InProcessRouterOptions.MaxRequestRetries"/>, <see cref="TrafficRouteStats.RequestsRetried"/>), as
/// nginx's <c>proxy_next_upstream error</c> does: the client sees no failure.</para>
/// <para>The proxy works at the TCP level: it counts connections and bytes per backend (<see cref="GetStats"/>), not
/// HTTP requests; with HTTP keep-alive, one connection carries several requests.</para>
/// </remarks>
public sealed class InProcessTrafficRouter : ITrafficRouter, IAsyncDisposable
{
    private static readonly TimeSpan ShutdownPollInterval = TimeSpan.FromMilliseconds(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, ServiceProxy> _services = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ProxyConnection, byte> _open = new();
    private readonly IPAddress _address;
    private bool _disposed;

    /// <summary>Creates a router. With dependency injection, use <c>AddInProcessRouter()</c> instead.</summary>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock for connect timeouts, backend retry and shutdown; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Where log messages go; none when <see langword="null"/>.</param>
    /// <exception cref="OptionsValidationException">The options are invalid (every problem is listed).</exception>
    public InProcessTrafficRouter(IOptions<InProcessRouterOptions>? options = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        Options = ValidatedOptions.Ensure(options?.Value ?? new InProcessRouterOptions(), new InProcessRouterOptionsValidator());

        _address = IPAddress.Parse(Options.ListenAddress);
        Time = timeProvider ?? TimeProvider.System;
        Logger = (ILogger?)loggerFactory?.CreateLogger("Bpi.Orchestration.Routing") ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Name => "in-process";

    internal InProcessRouterOptions Options { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    /// <inheritdoc />
    public ValueTask<ServiceEndpoint?> ApplyAsync(TrafficRoute route, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(route);
        cancellationToken.ThrowIfCancellationRequested();
        var errors = TrafficRouteValidation.Validate(route);
        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration($"Traffic route of service '{route.ServiceId}'", errors);
        }

        ServiceProxy proxy;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_services.TryGetValue(route.ServiceId, out proxy!))
            {
                proxy = ServiceProxy.Start(route.ServiceId, _address, route.ListenPort ?? 0, this);
                _services[route.ServiceId] = proxy;
            }
            else if (route.ListenPort is { } port && port != proxy.Endpoint.Port)
            {
                proxy.Listen(_address, port);
            }

            proxy.Apply(route);
        }

        Log.RouteApplied(Logger, route.ServiceId, string.Join(", ", route.Backends.Select(b => string.Create(CultureInfo.InvariantCulture, $"r{b.Revision}={b.Weight}% ({b.Endpoints.Count} endpoint(s))"))));
        return ValueTask.FromResult<ServiceEndpoint?>(proxy.Endpoint);
    }

    /// <inheritdoc />
    /// <remarks>The listener closes; connections already open may finish.</remarks>
    public ValueTask RemoveAsync(string serviceId, CancellationToken cancellationToken = default)
    {
        ServiceProxy? proxy;
        lock (_gate)
        {
            if (_services.Remove(serviceId, out proxy))
            {
                proxy.StopListening();
            }
        }

        if (proxy is not null)
        {
            Log.ServiceRemoved(Logger, serviceId, proxy.ActiveConnections);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Where a service listens.</summary>
    /// <param name="serviceId">The service (<see cref="TrafficRoute.ForComponent"/>).</param>
    /// <returns>The endpoint, or <see langword="null"/> when the service has no route.</returns>
    public ServiceEndpoint? GetEndpoint(string serviceId)
    {
        lock (_gate)
        {
            return _services.GetValueOrDefault(serviceId)?.Endpoint;
        }
    }

    /// <summary>The connection and byte counters of a service and of each backend it has used: for dashboards, demos and tests.</summary>
    /// <param name="serviceId">The service (<see cref="TrafficRoute.ForComponent"/>).</param>
    /// <returns>The counters, or <see langword="null"/> when the service has no route.</returns>
    public TrafficRouteStats? GetStats(string serviceId)
    {
        lock (_gate)
        {
            return _services.GetValueOrDefault(serviceId)?.GetStats();
        }
    }

    /// <summary>
    /// Closes every listener, lets open connections finish for up to <see cref="InProcessRouterOptions.ShutdownTimeout"/>
    /// (on the router's clock), then cuts the rest.
    /// </summary>
    /// <returns>A task that completes when no connection is left.</returns>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var proxy in _services.Values)
            {
                proxy.StopListening();
            }

            _services.Clear();
        }

        var started = Time.GetTimestamp();
        while (!_open.IsEmpty && Time.GetElapsedTime(started) < Options.ShutdownTimeout)
        {
            await Task.Delay(ShutdownPollInterval, Time).ConfigureAwait(false);
        }

        var cut = 0;
        foreach (var connection in _open.Keys)
        {
            connection.Abort();
            cut++;
        }

        Log.RouterStopped(Logger, cut, Options.ShutdownTimeout);
    }

    internal void Track(ProxyConnection connection)
    {
        _open.TryAdd(connection, 0);
        if (Volatile.Read(ref _disposed) && _open.TryRemove(connection, out _))
        {
            connection.Abort();
        }
    }

    internal void Untrack(ProxyConnection connection) => _open.TryRemove(connection, out _);
}
