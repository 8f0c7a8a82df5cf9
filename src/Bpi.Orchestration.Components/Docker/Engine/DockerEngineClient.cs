using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Bpi.Orchestration.Components.Docker.Engine.Models;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>
/// The SDK's own thin Docker Engine API client over <see cref="HttpClient"/>: unix socket or TCP transport, API version
/// negotiation, typed errors, and transient faults retried by the <c>bpi-orchestration-docker</c> pipeline. Internal:
/// hosts reach Docker through <see cref="Bpi.Orchestration.Runtime.IWorkloadRuntime"/>.
/// </summary>
/// <remarks>
/// <see cref="HttpClient.Timeout"/> is infinite because logs, events and waits stream for as long as the caller wants;
/// every other call gets its own timeout (<see cref="DockerEngineClientOptions.RequestTimeout"/>) from the
/// <see cref="TimeProvider"/>. Endpoint methods live in the partial files beside this one.
/// </remarks>
internal sealed partial class DockerEngineClient : IAsyncDisposable, IDisposable
{
    /// <summary>The name of the resilience pipeline every engine call runs through.</summary>
    public const string PipelineName = "bpi-orchestration-docker";

    private static readonly TimeSpan Infinite = Timeout.InfiniteTimeSpan;

    private readonly HttpClient _http;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly SemaphoreSlim _negotiationGate = new(1, 1);
    private NegotiatedApi? _negotiated;
    private int _disposed;

    public DockerEngineClient(DockerEngineClientOptions options, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        Options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        var endpoint = options.Endpoint;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (_, cancellationToken) => endpoint.ConnectAsync(cancellationToken),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
            AllowAutoRedirect = false,
        };
        _http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = endpoint.BaseAddress,
            Timeout = Infinite,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Bpi.Orchestration/" + typeof(DockerEngineClient).Assembly.GetName().Version?.ToString(3));
        _pipeline = BuildPipeline(options, timeProvider, logger);
    }

    public DockerEngineClientOptions Options { get; }

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
            _http.Dispose();
            _negotiationGate.Dispose();
        }
    }

    private static ResiliencePipeline BuildPipeline(DockerEngineClientOptions options, TimeProvider timeProvider, ILogger logger)
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

    // ---- request plumbing -------------------------------------------------------------------------------------------

    /// <summary>Sends a versioned call; renegotiates the API version once when the engine rejects the one in use.</summary>
    private async Task<HttpResponseMessage> SendAsync(DockerCall call, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var version = await GetApiVersionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await SendWithRetriesAsync(version, call, cancellationToken).ConfigureAwait(false);
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
                return await SendWithRetriesAsync(renegotiated.Version, call, cancellationToken).ConfigureAwait(false);
            }
            catch (ApiVersionRejectedException again)
            {
                throw VersionStillRejected(renegotiated.Version, again.Error);
            }
        }
    }

    private async Task<HttpResponseMessage> SendWithRetriesAsync(DockerApiVersion? version, DockerCall call, CancellationToken cancellationToken)
    {
        if (!call.Retry)
        {
            return await SendOnceAsync(version, call, cancellationToken).ConfigureAwait(false);
        }

        return await _pipeline.ExecuteAsync(
            static (state, token) => new ValueTask<HttpResponseMessage>(state.Client.SendOnceAsync(state.Version, state.Call, token)),
            (Client: this, Version: version, Call: call),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendOnceAsync(DockerApiVersion? version, DockerCall call, CancellationToken cancellationToken)
    {
        var path = version is { } v ? "/v" + v + call.Path : call.Path;
        var timeout = call.Timeout ?? (call.Streaming ? Infinite : Options.RequestTimeout);
        using var request = new HttpRequestMessage(call.Method, path) { Content = call.Content?.Invoke() };
        using var timeoutSource = timeout == Infinite ? null : new CancellationTokenSource(timeout, _timeProvider);
        using var linked = timeoutSource is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        var token = linked?.Token ?? cancellationToken;
        HttpResponseMessage? response = null;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
            if ((int)response.StatusCode >= 400)
            {
                var engineMessage = await ReadErrorMessageAsync(response, token).ConfigureAwait(false);
                var error = DockerEngineErrors.FromResponse(response.StatusCode, engineMessage, call.Method.Method, call.Path, call.ResourceKind, call.ResourceName);
                if (version is not null && DockerEngineErrors.IsVersionRejection(response.StatusCode, engineMessage))
                {
                    throw new ApiVersionRejectedException(error);
                }

                throw error;
            }

            if (!call.Streaming)
            {
                await response.Content.LoadIntoBufferAsync(token).ConfigureAwait(false);
            }

            var result = response;
            response = null;
            return result;
        }
        catch (OperationCanceledException) when (timeoutSource?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
        {
            throw DockerEngineErrors.Timeout(Endpoint, call.Method.Method, call.Path, timeout);
        }
        catch (HttpRequestException exception)
        {
            throw DockerEngineErrors.Unreachable(Endpoint, call.Method.Method, call.Path, exception);
        }
        catch (IOException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw DockerEngineErrors.Unreachable(Endpoint, call.Method.Method, call.Path, exception);
        }
        finally
        {
            response?.Dispose();
        }
    }

    private static async Task<string?> ReadErrorMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(body, DockerJsonContext.Default.DockerErrorResponse)?.Message ?? body.Trim();
        }
        catch (JsonException)
        {
            return body.Trim();
        }
    }

    private async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        try
        {
            var value = await response.Content.ReadFromJsonAsync(typeInfo, cancellationToken).ConfigureAwait(false);
            return value ?? throw new JsonException("the body is null");
        }
        catch (JsonException exception)
        {
            throw new DockerEngineException(
                OrchestrationErrorKind.Unknown,
                $"The Docker Engine at {Endpoint} answered with a body the SDK cannot read as {typeof(T).Name}: {exception.Message}",
                (int)response.StatusCode, engineMessage: null, innerException: exception);
        }
    }

    private async Task<T> GetJsonAsync<T>(DockerCall call, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(call, cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, typeInfo, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpStatusCode> SendForStatusAsync(DockerCall call, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(call, cancellationToken).ConfigureAwait(false);
        return response.StatusCode;
    }

    private static Func<HttpContent> Json<T>(T body, JsonTypeInfo<T> typeInfo) =>
        () => JsonContent.Create(body, typeInfo, new System.Net.Http.Headers.MediaTypeHeaderValue("application/json"));

    private static string LabelFilters(IEnumerable<KeyValuePair<string, string?>> labels)
    {
        var filters = new Dictionary<string, List<string>>(StringComparer.Ordinal)
        {
            ["label"] = labels.Select(l => l.Value is null ? l.Key : l.Key + "=" + l.Value).ToList(),
        };
        return Uri.EscapeDataString(JsonSerializer.Serialize(filters, DockerJsonContext.Default.DictionaryStringListString));
    }

    private static string Escape(string value) => Uri.EscapeDataString(value);

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var builder = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (value is null)
            {
                continue;
            }

            builder.Append(builder.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Escape(value));
        }

        return builder.ToString();
    }

    private static string Bool(bool value) => value ? "1" : "0";

    private DockerEngineException VersionStillRejected(DockerApiVersion version, DockerEngineException error) => new(
        OrchestrationErrorKind.RuntimeUnavailable,
        $"The Docker Engine at {Endpoint} rejects API version {version} even after renegotiating ({error.EngineMessage}). The SDK speaks API {DockerApiVersion.MinimumSupported} to {Options.MaximumApiVersion}; upgrade the engine or the SDK.",
        error.StatusCode, error.EngineMessage, error.ResourceKind, isTransient: false, innerException: error);

    /// <summary>One call: what to send, how long it may take, whether it may be retried and whether the body streams.</summary>
    private sealed record DockerCall(HttpMethod Method, string Path)
    {
        public Func<HttpContent>? Content { get; init; }

        public string? ResourceKind { get; init; }

        public string? ResourceName { get; init; }

        /// <summary>Streams are returned after the headers and have no timeout of their own (the caller cancels).</summary>
        public bool Streaming { get; init; }

        /// <summary>Overrides the default per-call timeout (for example a stop that may take the stop timeout itself).</summary>
        public TimeSpan? Timeout { get; init; }

        /// <summary>Whether transient faults may be retried: false for bodies that cannot be sent twice.</summary>
        public bool Retry { get; init; } = true;
    }

    /// <summary>Carries a version rejection from the attempt to <see cref="SendAsync"/>, which renegotiates once.</summary>
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
