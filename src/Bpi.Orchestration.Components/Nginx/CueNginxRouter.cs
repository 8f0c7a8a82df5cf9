using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Bpi.Orchestration.Components;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Bpi.Orchestration.Nginx;

/// <summary>
/// CueNginx: the traffic router on a real nginx that the orchestrator runs itself (its own prefix, config, pid file and
/// logs under <see cref="CueNginxOptions.StateDirectory"/>; never the system service). Each service is an upstream of
/// weighted servers behind its own listener, with the balancing, passive health, TLS, gzip and HttpCage protection of
/// its <see cref="NginxServiceOptions"/>.
/// </summary>
/// <remarks>
/// <para>Every change renders the whole config, checks it with <c>nginx -t</c>, swaps it in atomically and reloads nginx
/// gracefully (open connections finish on the old workers). <see cref="ApplyAsync"/> returns once new workers serve the
/// new config and the old ones stopped accepting connections, so new connections see the new weights. A config nginx
/// refuses is never applied: the previous one stays live and <see cref="NginxException"/> quotes nginx.</para>
/// <para>A revision's weight is split over its endpoints as integer nginx weights with exact shares (10/90 with one
/// endpoint each renders 1 and 9; with round robin every 10 requests send exactly one to the first revision). Endpoints of
/// a revision with weight 0 are marked <c>down</c>. A service with no weighted endpoint answers 503. Give endpoints as IP
/// addresses: nginx resolves a name once, at load, and a name with several addresses counts once per address.</para>
/// <para>nginx routes each request (not each connection, as the in-process router does). On a change, requests in flight
/// finish on the old workers, which then close their idle keep-alive connections: clients reconnect to the new workers
/// (HTTP clients retry an idempotent request sent on a connection closed at that moment).</para>
/// <para>nginx is started on the first change (or <see cref="StartAsync"/>) and keeps running after the orchestrator
/// exits unless <see cref="CueNginxOptions.StopOnDispose"/> is set; the next router on the same state directory adopts
/// it (after checking the pid is still this prefix's nginx master) together with the routes in force, or starts it again
/// with those routes when it is gone.</para>
/// </remarks>
public sealed class CueNginxRouter : ITrafficRouter, IAsyncDisposable
{
    /// <summary>The name of the resilience pipeline every apply runs through.</summary>
    internal const string PipelineName = "bpi-orchestration-nginx";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ResiliencePipeline _pipeline;
    private readonly NginxStateFile _stateFile;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private Dictionary<string, NginxServiceRecord> _services = new(StringComparer.Ordinal);
    private NginxProcess? _nginx;
    private FileStream? _lock;
    private long _generation;
    private bool _disposed;

    /// <summary>Creates a router. With dependency injection, use <c>AddCueNginx()</c> instead.</summary>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock for command, reload and shutdown timeouts; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Where log messages go; none when <see langword="null"/>.</param>
    /// <exception cref="OptionsValidationException">The options are invalid (every problem is listed).</exception>
    public CueNginxRouter(IOptions<CueNginxOptions>? options = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        Options = ValidatedOptions.Ensure(options?.Value ?? new CueNginxOptions(), new CueNginxOptionsValidator());

        StateDirectory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Options.StateDirectory ?? DefaultStateDirectory(null)));
        _stateFile = new NginxStateFile(StateDirectory);
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger("Bpi.Orchestration.Nginx") ?? NullLogger.Instance;
        var logger = _logger;
        _pipeline = new ResiliencePipelineBuilder { Name = PipelineName, TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                // The router picks a free port for a new service; another process may bind it before nginx does.
                Name = "chosen-listen-port-taken",
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is NginxException exception && IsListenPortTaken(exception)),
                MaxRetryAttempts = 2,
                Delay = TimeSpan.Zero,
                OnRetry = args =>
                {
                    Log.NginxListenPortTaken(logger, args.AttemptNumber + 1, ((NginxException)args.Outcome.Exception!).NginxMessage);
                    return default;
                },
            })
            .Build();
    }

    /// <inheritdoc />
    public string Name => "nginx";

    /// <summary>nginx's prefix and CueNginx's state (see <see cref="CueNginxOptions.StateDirectory"/>).</summary>
    public string StateDirectory { get; }

    /// <summary>The live config nginx runs (<c>conf/nginx.conf</c> under <see cref="StateDirectory"/>).</summary>
    public string ConfigPath => Path.Combine(StateDirectory, "conf", "nginx.conf");

    /// <summary>The pid of the nginx master this router runs or adopted; <see langword="null"/> when nginx is not running.</summary>
    public int? MasterPid => _nginx is { IsRunning: true } nginx ? nginx.MasterPid : null;

    internal CueNginxOptions Options { get; }

    /// <summary>The default state directory: <c>{temp}/bpi-orchestration/{vmId}/nginx</c>, or <c>{temp}/bpi-orchestration/cue-nginx</c> without an orchestrator id.</summary>
    /// <param name="vmId">The orchestrator's id (<see cref="OrchestrationOptions.VmId"/>).</param>
    /// <returns>The directory.</returns>
    public static string DefaultStateDirectory(string? vmId)
        => vmId is null ? Path.Combine(Path.GetTempPath(), "bpi-orchestration", "cue-nginx") : Path.Combine(Path.GetTempPath(), "bpi-orchestration", vmId, "nginx");

    /// <inheritdoc />
    /// <exception cref="NginxException">nginx refused the config or could not be reloaded (its message is quoted); the previous config stays live.</exception>
    public async ValueTask<ServiceEndpoint?> ApplyAsync(TrafficRoute route, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(route);
        var errors = TrafficRouteValidation.Validate(route);
        for (var i = 0; i < route.Backends.Count; i++)
        {
            if (route.Backends[i].Endpoints.Any(e => !IsSafeHost(e.Host)))
            {
                errors.Add($"backends[{i}].endpoints: a host may hold letters, digits, '.', '-', '_', ':' and '%' only.");
            }
        }

        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration($"Traffic route of service '{route.ServiceId}'", errors);
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
            var held = _services.GetValueOrDefault(route.ServiceId);
            var requested = route.ListenPort is > 0 ? route.ListenPort : null;
            var port = requested ?? held?.Port ?? FreePort();
            var attempts = 0;
            await _pipeline.ExecuteAsync(
                async token =>
                {
                    if (attempts++ > 0 && requested is null)
                    {
                        port = FreePort(); // Another process took the port the router chose: choose again.
                    }

                    CheckPort(route.ServiceId, port, requested is not null);
                    var services = new Dictionary<string, NginxServiceRecord>(_services, StringComparer.Ordinal)
                    {
                        [route.ServiceId] = new(route with { ListenPort = requested }, port),
                    };
                    await CommitAsync(services, "apply " + Describe(route), token, skipIfUnchanged: true).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);

            var endpoint = EndpointOf(route.ServiceId, port);
            if (held?.Port != port)
            {
                Log.NginxServiceListening(_logger, route.ServiceId, endpoint.ToString());
            }

            return endpoint;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>nginx reloads without the service: its listener closes, and requests already in flight finish on the old workers.</remarks>
    public async ValueTask RemoveAsync(string serviceId, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
            if (!_services.ContainsKey(serviceId))
            {
                return;
            }

            var services = new Dictionary<string, NginxServiceRecord>(_services, StringComparer.Ordinal);
            services.Remove(serviceId);
            await CommitAsync(services, "remove " + serviceId, cancellationToken, skipIfUnchanged: true).ConfigureAwait(false);
            Log.NginxServiceRemoved(_logger, serviceId);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Where a service listens.</summary>
    /// <param name="serviceId">The service (<see cref="TrafficRoute.ForComponent"/>).</param>
    /// <returns>The endpoint, or <see langword="null"/> when the service has no route.</returns>
    public ServiceEndpoint? GetEndpoint(string serviceId)
        => Volatile.Read(ref _services).TryGetValue(serviceId, out var service) ? EndpointOf(serviceId, service.Port) : null;

    /// <summary>nginx's own counters (connections and requests of all services together) and the generation it serves: for dashboards, demos and tests.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status, or <see langword="null"/> when nginx is not running (or not started yet by this router).</returns>
    public async Task<NginxStatus?> GetStatusAsync(CancellationToken cancellationToken = default)
        => _nginx is { IsRunning: true } nginx ? await nginx.QueryStatusAsync(cancellationToken).ConfigureAwait(false) : null;

    /// <summary>
    /// Adopts the nginx a previous orchestrator left running on <see cref="CueNginxOptions.StateDirectory"/>, or starts
    /// nginx with the routes recorded there (none on a fresh directory). Idempotent; <see cref="ApplyAsync"/> does it too.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when nginx serves.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.RuntimeUnavailable"/>: nginx is not installed; <see cref="OrchestrationErrorKind.Conflict"/>: another router uses the state directory.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
            if (!_nginx!.IsRunning)
            {
                await CommitAsync(_services, "start", cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Stops nginx gracefully (open requests finish) within <see cref="CueNginxOptions.ShutdownTimeout"/>, then by force.
    /// The routes stay recorded: the next <see cref="ApplyAsync"/> or <see cref="StartAsync"/> starts nginx with them.
    /// </summary>
    /// <param name="cancellationToken">Cancels waiting for the router's lock.</param>
    /// <returns>A task that completes when nginx is gone.</returns>
    /// <exception cref="ObjectDisposedException">The router was disposed.</exception>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await StopCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Releases the state directory; stops nginx first when <see cref="CueNginxOptions.StopOnDispose"/> is set, else leaves it serving for the next orchestrator.</summary>
    /// <returns>A task that completes when the router is released.</returns>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (Options.StopOnDispose)
            {
                await StopCoreAsync().ConfigureAwait(false);
            }

            if (_lock is not null)
            {
                await _lock.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task StopCoreAsync()
    {
        if (_nginx is null)
        {
            return;
        }

        await _nginx.StopAsync().ConfigureAwait(false);
        Persist();
    }

    private async Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_nginx is not null)
        {
            return;
        }

        var executable = NginxProcess.Locate(Options.NginxPath) ?? throw new OrchestrationException(
            OrchestrationErrorKind.RuntimeUnavailable,
            $"nginx was not found ({Options.NginxPath ?? "nginx on PATH, or /usr/sbin/nginx"}). Install it (Debian: apt-get install nginx-light) or set CueNginxOptions.NginxPath.");
        Directory.CreateDirectory(StateDirectory);
        try
        {
            _lock ??= new FileStream(Path.Combine(StateDirectory, "cue-nginx.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new OrchestrationException(
                OrchestrationErrorKind.Conflict,
                $"Another CueNginx router uses {StateDirectory}. Give each orchestrator its own CueNginxOptions.StateDirectory (or OrchestrationOptions.VmId).",
                ex);
        }

        var nginx = new NginxProcess(executable, StateDirectory, Options, _time, _logger);
        nginx.Prepare();
        var state = _stateFile.Read(ex => Log.NginxStateCorrupt(_logger, _stateFile.Path, ex.Message));
        _services = state.Services.ToDictionary(s => s.Route.ServiceId, StringComparer.Ordinal);
        _generation = state.Generation;
        _nginx = nginx;
        if (nginx.TryAdopt(state.MasterPid, state.MasterStartTicks) || nginx.TryAdoptFromPidFile())
        {
            var serving = await nginx.QueryGenerationAsync(cancellationToken).ConfigureAwait(false);
            Log.NginxAdopted(_logger, nginx.MasterPid, StateDirectory, serving ?? -1, _services.Count);
            _generation = Math.Max(_generation, serving ?? 0);
            if (serving != state.Generation)
            {
                // The previous orchestrator stopped between a reload and recording it: converge on the recorded routes.
                await CommitAsync(_services, "converge after adoption", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                Persist();
            }
        }
        else if (_services.Count > 0)
        {
            Log.NginxRestoring(_logger, StateDirectory, _services.Count);
            await CommitAsync(_services, "restore recorded routes", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Renders, checks, swaps in and reloads (or starts) a new set of services; on any refusal the previous config stays, on disk and live.</summary>
    /// <remarks>With <paramref name="skipIfUnchanged"/>, a change that renders the config nginx already serves is recorded without a reload.</remarks>
    private async Task CommitAsync(Dictionary<string, NginxServiceRecord> services, string change, CancellationToken cancellationToken, bool skipIfUnchanged = false)
    {
        var nginx = _nginx!;
        if (skipIfUnchanged
            && nginx.IsRunning
            && File.Exists(nginx.ConfigPath)
            && Render(services, _generation) == await File.ReadAllTextAsync(nginx.ConfigPath, cancellationToken).ConfigureAwait(false)
            && await nginx.QueryGenerationAsync(cancellationToken).ConfigureAwait(false) == _generation)
        {
            Volatile.Write(ref _services, services);
            Persist();
            return;
        }

        var generation = _generation + 1;
        var text = Render(services, generation);
        var candidate = nginx.ConfigPath + ".next";
        var rejected = nginx.ConfigPath + ".rejected";
        await File.WriteAllTextAsync(candidate, text, cancellationToken).ConfigureAwait(false);
        var test = await nginx.TestAsync(candidate, cancellationToken).ConfigureAwait(false);
        if (test.ExitCode != 0)
        {
            File.Move(candidate, rejected, overwrite: true);
            var said = NginxProcess.NginxSaid(test.Output.Replace(candidate, rejected, StringComparison.Ordinal));
            Log.NginxRefused(_logger, generation, change, said);
            throw new NginxException(
                OrchestrationErrorKind.NetworkSetupFailed,
                $"nginx refused the config for '{change}'; the previous config stays live. nginx said: {said} The refused config is kept at {rejected}.",
                said,
                rejected);
        }

        var previous = File.Exists(nginx.ConfigPath) ? await File.ReadAllTextAsync(nginx.ConfigPath, cancellationToken).ConfigureAwait(false) : null;
        var starting = !nginx.IsRunning;
        File.Move(candidate, nginx.ConfigPath, overwrite: true);
        try
        {
            // From here on nginx is signalled: waiting for the outcome is bounded by the options' timeouts, not cancelled,
            // so the config on disk never disagrees with the one nginx runs.
            if (nginx.IsRunning)
            {
                await nginx.ReloadAsync(generation, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await nginx.StartAsync(generation, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (NginxException ex)
        {
            // Put the previous config back so a later reload or start does not pick up the refused one.
            File.Copy(nginx.ConfigPath, rejected, overwrite: true);
            if (previous is null)
            {
                File.Delete(nginx.ConfigPath);
            }
            else
            {
                await File.WriteAllTextAsync(candidate, previous, CancellationToken.None).ConfigureAwait(false);
                File.Move(candidate, nginx.ConfigPath, overwrite: true);
            }

            Log.NginxRefused(_logger, generation, change, ex.NginxMessage);
            if (ex.Kind == OrchestrationErrorKind.NetworkSetupFailed)
            {
                throw new NginxException(
                    ex.Kind,
                    starting
                        ? $"nginx could not start with the config for '{change}', so no route is served; the next change starts it again. nginx said: {ex.NginxMessage} The refused config is kept at {rejected}."
                        : $"nginx refused the config for '{change}'; the previous config stays live. nginx said: {ex.NginxMessage} The refused config is kept at {rejected}.",
                    ex.NginxMessage,
                    rejected,
                    ex);
            }

            throw;
        }

        _generation = generation;
        Volatile.Write(ref _services, services);
        Persist();
        Log.NginxReloaded(_logger, generation, change);
    }

    private string Render(Dictionary<string, NginxServiceRecord> services, long generation)
        => NginxConfigRenderer.Render(Options, StateDirectory, generation, services.Values.Select(s => new NginxServiceConfig(s.Route, s.Port, Options.ForService(s.Route.ServiceId))));

    private void Persist()
    {
        var nginx = _nginx!;
        _stateFile.Write(new NginxStateDocument
        {
            MasterPid = nginx.IsRunning ? nginx.MasterPid : 0,
            MasterStartTicks = nginx.IsRunning ? nginx.MasterStartTicks : 0,
            Generation = _generation,
            Services = [.. _services.Values.OrderBy(s => s.Route.ServiceId, StringComparer.Ordinal)],
        });
    }

    /// <summary>Fails early, with the in-process router's wording, when a port is taken by another service or by another process.</summary>
    private void CheckPort(string serviceId, int port, bool requested)
    {
        var other = _services.Values.FirstOrDefault(s => s.Port == port && s.Route.ServiceId != serviceId);
        if (other is not null)
        {
            throw new OrchestrationException(
                OrchestrationErrorKind.NetworkSetupFailed,
                $"Service '{serviceId}' cannot listen on port {port.ToString(CultureInfo.InvariantCulture)}: service '{other.Route.ServiceId}' listens there. Choose another TrafficRoute.ListenPort, or leave it null to let the router pick one; the previous route stays live.");
        }

        if (!requested || _services.Values.Any(s => s.Port == port && _nginx!.IsRunning))
        {
            return; // Chosen by the router just now, or already nginx's own.
        }

        try
        {
            using var probe = new Socket(IPAddress.Parse(Options.ListenAddress).AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Parse(Options.ListenAddress), port));
        }
        catch (SocketException ex)
        {
            throw new OrchestrationException(
                OrchestrationErrorKind.NetworkSetupFailed,
                $"Service '{serviceId}' cannot listen on {Options.ListenAddress}:{port.ToString(CultureInfo.InvariantCulture)}: {ex.Message}. Choose a free TrafficRoute.ListenPort, or leave it null to let the router pick one; the previous route stays live.",
                ex);
        }
    }

    /// <summary>nginx could not bind a listener because another process holds the address (EADDRINUSE).</summary>
    internal static bool IsListenPortTaken(NginxException exception) => exception.NginxMessage.Contains("(98: Address already in use)", StringComparison.Ordinal);

    private int FreePort()
    {
        using var socket = new Socket(IPAddress.Parse(Options.ListenAddress).AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(Options.ListenAddress), 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private ServiceEndpoint EndpointOf(string serviceId, int port) => new(Options.ListenAddress, port, serviceId);

    private static bool IsSafeHost(string host) => host.Length > 0 && host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' or '%');

    private static string Describe(TrafficRoute route)
        => route.ServiceId + ": " + string.Join(", ", route.Backends.Select(b => string.Create(CultureInfo.InvariantCulture, $"r{b.Revision}={b.Weight}% ({b.Endpoints.Count} endpoint(s))")));
}
