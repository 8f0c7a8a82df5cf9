using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.NativeHttp;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>
/// The SDK's thin layer over Docker.DotNet (<c>Docker.DotNet.Enhanced</c>): the library speaks the Engine API; this
/// class adds what the SDK needs on top — a per-call timeout from the <see cref="TimeProvider"/>, errors mapped to
/// <see cref="OrchestrationErrorKind"/> (<see cref="DockerEngineException"/>), transient faults retried by the
/// <c>bpi-orchestration-docker</c> pipeline, and API version negotiation against older engines (the library speaks
/// whatever version it is built with). Internal: hosts reach Docker through
/// <see cref="Bpi.Orchestration.Runtime.IWorkloadRuntime"/>.
/// </summary>
/// <remarks>
/// The library's own request timeout is infinite because logs, events and waits stream for as long as the caller
/// wants; every other call gets <see cref="DockerEngineOptions.RequestTimeout"/> (or its own) from the time provider.
/// Operations live in the partial file beside this one.
/// </remarks>
internal sealed partial class DockerEngine : IAsyncDisposable, IDisposable
{
    /// <summary>The name of the resilience pipeline every engine call runs through.</summary>
    public const string PipelineName = "bpi-orchestration-docker";

    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly SemaphoreSlim _negotiationGate = new(1, 1);
    private readonly Lazy<DockerClient> _unversioned;
    private NegotiatedApi? _negotiated;
    private DockerClient? _client;
    private int _disposed;

    public DockerEngine(DockerEngineOptions options, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        Options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _pipeline = BuildPipeline(options, timeProvider, logger);
        _unversioned = new Lazy<DockerClient>(() => CreateClient(version: null), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public DockerEngineOptions Options { get; }

    public DockerEndpoint Endpoint => Options.Endpoint;

    /// <summary>The negotiated API, once a call has been made; <see langword="null"/> before.</summary>
    public NegotiatedApi? Negotiated => Volatile.Read(ref _negotiated);

    /// <summary>The API version the client speaks to this engine, negotiating on first use.</summary>
    public async ValueTask<DockerApiVersion> GetApiVersionAsync(CancellationToken cancellationToken = default) =>
        (Volatile.Read(ref _negotiated) ?? await NegotiateAsync(rejected: null, cancellationToken).ConfigureAwait(false)).Version;

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Volatile.Read(ref _client)?.Dispose();
            if (_unversioned.IsValueCreated)
            {
                _unversioned.Value.Dispose();
            }

            _negotiationGate.Dispose();
        }
    }

    private DockerClient CreateClient(DockerApiVersion? version)
    {
        var builder = new DockerClientBuilder()
            .WithEndpoint(Endpoint.LibraryUri)
            .WithTimeout(Timeout.InfiniteTimeSpan)
            .WithHeader("User-Agent", "Bpi.Orchestration/" + typeof(DockerEngine).Assembly.GetName().Version?.ToString(3));
        if (version is { } v)
        {
            builder = builder.WithApiVersion(new Version(v.Major, v.Minor));
        }

        return builder.WithTransportOptions(new NativeHttpTransportOptions()).Build();
    }

    private static ResiliencePipeline BuildPipeline(DockerEngineOptions options, TimeProvider timeProvider, ILogger logger)
    {
        if (options.MaxRetryAttempts <= 0)
        {
            return ResiliencePipeline.Empty;
        }

        return new ResiliencePipelineBuilder { Name = PipelineName, TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                Name = "engine-transient-faults",
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is { } exception && DockerEngineErrors.IsTransientEngineFault(exception)),
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                OnRetry = args =>
                {
                    Log.RetryingEngineCall(logger, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message ?? "");
                    return default;
                },
            })
            .Build();
    }

    // ---- call plumbing ----------------------------------------------------------------------------------------------

    /// <summary>Runs one versioned call; renegotiates the API version once when the engine rejects the one in use.</summary>
    private async Task<T> CallAsync<T>(EngineCall call, Func<DockerClient, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var version = await GetApiVersionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await CallWithRetriesAsync(call, operation, versioned: true, cancellationToken).ConfigureAwait(false);
        }
        catch (ApiVersionRejectedException rejected)
        {
            Log.ApiVersionRejected(_logger, version.ToString(), rejected.Error.EngineMessage ?? "");
            var renegotiated = await NegotiateAsync(version, cancellationToken).ConfigureAwait(false);
            if (renegotiated.Version == version)
            {
                throw VersionStillRejected(version, rejected.Error);
            }

            try
            {
                return await CallWithRetriesAsync(call, operation, versioned: true, cancellationToken).ConfigureAwait(false);
            }
            catch (ApiVersionRejectedException again)
            {
                throw VersionStillRejected(renegotiated.Version, again.Error);
            }
        }
    }

    private Task<bool> CallAsync(EngineCall call, Func<DockerClient, CancellationToken, Task> operation, CancellationToken cancellationToken) =>
        CallAsync(call, async (client, token) =>
        {
            await operation(client, token).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    private async Task<T> CallWithRetriesAsync<T>(EngineCall call, Func<DockerClient, CancellationToken, Task<T>> operation, bool versioned, CancellationToken cancellationToken)
    {
        if (!call.Retry)
        {
            return await CallOnceAsync(call, operation, versioned, cancellationToken).ConfigureAwait(false);
        }

        return await _pipeline.ExecuteAsync(
            static (state, token) => new ValueTask<T>(state.Engine.CallOnceAsync(state.Call, state.Operation, state.Versioned, token)),
            (Engine: this, Call: call, Operation: operation, Versioned: versioned),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> CallOnceAsync<T>(EngineCall call, Func<DockerClient, CancellationToken, Task<T>> operation, bool versioned, CancellationToken cancellationToken)
    {
        var client = versioned ? Volatile.Read(ref _client)! : _unversioned.Value;
        var timeout = call.Timeout ?? Options.RequestTimeout;
        using var timeoutSource = timeout == Timeout.InfiniteTimeSpan ? null : new CancellationTokenSource(timeout, _timeProvider);
        using var linked = timeoutSource is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        var token = linked?.Token ?? cancellationToken;
        try
        {
            return await operation(client, token).ConfigureAwait(false);
        }
        catch (DockerApiException exception)
        {
            var engineMessage = EngineMessage(exception.ResponseBody);
            var error = DockerEngineErrors.FromResponse(exception.StatusCode, engineMessage, call.Method, call.Path, call.ResourceKind, call.ResourceName, exception);
            if (versioned && DockerEngineErrors.IsVersionRejection(exception.StatusCode, engineMessage))
            {
                throw new ApiVersionRejectedException(error);
            }

            throw error;
        }
        catch (OperationCanceledException) when (timeoutSource?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
        {
            throw DockerEngineErrors.Timeout(Endpoint, call.Method, call.Path, timeout);
        }
        catch (HttpRequestException exception)
        {
            throw DockerEngineErrors.Unreachable(Endpoint, call.Method, call.Path, exception);
        }
        catch (SocketException exception)
        {
            throw DockerEngineErrors.Unreachable(Endpoint, call.Method, call.Path, exception);
        }
        catch (IOException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw DockerEngineErrors.Unreachable(Endpoint, call.Method, call.Path, exception);
        }
    }

    /// <summary>The engine's <c>{"message": "…"}</c> from an error body, or the body itself.</summary>
    internal static string? EngineMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                   && document.RootElement.TryGetProperty("message", out var message)
                   && message.ValueKind == JsonValueKind.String
                ? message.GetString()
                : body.Trim();
        }
        catch (JsonException)
        {
            return body.Trim();
        }
    }

    /// <summary>
    /// Negotiates the API version: the unversioned <c>/version</c> gives the engine's newest and oldest API; the client
    /// speaks min(its own maximum, the engine's maximum) and refuses engines older than 1.41 or whose minimum is above
    /// the client's maximum. With <paramref name="rejected"/> set, the engine has just refused that version: negotiate
    /// again unless another call already did.
    /// </summary>
    private async Task<NegotiatedApi> NegotiateAsync(DockerApiVersion? rejected, CancellationToken cancellationToken)
    {
        await _negotiationGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = Volatile.Read(ref _negotiated);
            if (current is not null && (rejected is null || current.Version != rejected.Value))
            {
                return current;
            }

            var version = await GetVersionAsync(cancellationToken).ConfigureAwait(false);
            if (!DockerApiVersion.TryParse(version.APIVersion, out var engineMax))
            {
                throw new DockerEngineException(
                    OrchestrationErrorKind.RuntimeUnavailable,
                    $"The engine at {Endpoint} did not say which API version it speaks (no ApiVersion in /version). Is it a Docker Engine?",
                    statusCode: null, engineMessage: null);
            }

            DockerApiVersion? engineMin = DockerApiVersion.TryParse(version.MinAPIVersion, out var min) ? min : null;
            if (engineMax < DockerApiVersion.MinimumSupported)
            {
                throw new DockerEngineException(
                    OrchestrationErrorKind.RuntimeUnavailable,
                    $"The Docker Engine at {Endpoint} ({version.Version ?? "unknown release"}) speaks at most API {engineMax}, older than {DockerApiVersion.MinimumSupported}, the oldest this SDK supports. Upgrade the engine to Docker 20.10 or newer.",
                    statusCode: null, engineMessage: null);
            }

            var chosen = DockerApiVersion.Min(Options.MaximumApiVersion, engineMax);
            if (engineMin is { } minimum && minimum > chosen)
            {
                throw new DockerEngineException(
                    OrchestrationErrorKind.RuntimeUnavailable,
                    $"The Docker Engine at {Endpoint} ({version.Version ?? "unknown release"}) requires API {minimum} or newer, but this SDK speaks at most {Options.MaximumApiVersion}. Upgrade Bpi.Orchestration.Components.",
                    statusCode: null, engineMessage: null);
            }

            var previous = Volatile.Read(ref _client);
            if (previous is null || current?.Version != chosen)
            {
                Volatile.Write(ref _client, CreateClient(chosen));

                // A replaced client may still carry calls in flight; it is left to the collector rather than disposed here.
            }

            var negotiated = new NegotiatedApi(chosen, engineMax, engineMin, version.Version);
            Volatile.Write(ref _negotiated, negotiated);
            Log.ApiVersionNegotiated(_logger, Endpoint.ToString(), chosen.ToString(), engineMax.ToString(), version.Version ?? "");
            return negotiated;
        }
        finally
        {
            _negotiationGate.Release();
        }
    }

    private DockerEngineException VersionStillRejected(DockerApiVersion version, DockerEngineException error) => new(
        OrchestrationErrorKind.RuntimeUnavailable,
        $"The Docker Engine at {Endpoint} rejects API version {version} even after renegotiating ({error.EngineMessage}). The SDK speaks API {DockerApiVersion.MinimumSupported} to {Options.MaximumApiVersion}; upgrade the engine or the SDK.",
        error.StatusCode, error.EngineMessage, error.ResourceKind, isTransient: false, innerException: error);

    /// <summary>One call as messages name it, how long it may take and whether it may be retried.</summary>
    private sealed record EngineCall(string Method, string Path)
    {
        public string? ResourceKind { get; init; }

        public string? ResourceName { get; init; }

        /// <summary>Overrides the default per-call timeout; <see cref="Timeout.InfiniteTimeSpan"/> for streams and waits.</summary>
        public TimeSpan? Timeout { get; init; }

        /// <summary>Whether transient faults may be retried: false for bodies that cannot be sent twice.</summary>
        public bool Retry { get; init; } = true;
    }

    /// <summary>Carries a version rejection from the attempt to <see cref="CallAsync{T}"/>, which renegotiates once.</summary>
    private sealed class ApiVersionRejectedException(DockerEngineException error) : Exception(error.Message, error)
    {
        public DockerEngineException Error { get; } = error;
    }
}

/// <summary>The outcome of API version negotiation.</summary>
/// <param name="Version">The version the client speaks: min(the SDK's maximum, the engine's maximum).</param>
/// <param name="EngineMaximum">The newest API the engine speaks.</param>
/// <param name="EngineMinimum">The oldest API the engine accepts, when it says.</param>
/// <param name="EngineVersion">The engine's release, for example <c>20.10.24</c>.</param>
internal sealed record NegotiatedApi(DockerApiVersion Version, DockerApiVersion EngineMaximum, DockerApiVersion? EngineMinimum, string? EngineVersion);
