using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Bpi.Orchestration.Kubernetes.Runtime;

/// <summary>
/// Every call of the runtime to the API server goes through here: one named Polly pipeline
/// (<c>bpi-orchestration-kubernetes</c>) that retries <c>409 Conflict</c> (the call re-reads the object each attempt) and
/// transient faults (5xx, 429, a connection that failed), and one translation of what remains into the SDK's errors:
/// 403 names the missing verb and resource, 422 is a spec error and is never retried.
/// </summary>
internal sealed class KubernetesApi : IDisposable
{
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;
    private readonly bool _ownsClient;

    public KubernetesApi(IKubernetes client, KubernetesRuntimeOptions options, TimeProvider timeProvider, ILogger logger, bool ownsClient)
    {
        Client = client;
        _logger = logger;
        _ownsClient = ownsClient;
        _pipeline = new ResiliencePipelineBuilder { Name = "bpi-orchestration-kubernetes", TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<HttpOperationException>(IsRetriable).Handle<HttpRequestException>().Handle<Polly.Timeout.TimeoutRejectedException>(),
                MaxRetryAttempts = Math.Max(1, options.MaxConflictRetries),
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(20),
                MaxDelay = TimeSpan.FromSeconds(2),
                UseJitter = true,
                OnRetry = args =>
                {
                    Log.RetryingApiCall(_logger, args.AttemptNumber + 1, args.Outcome.Exception?.Message ?? "");
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(options.RequestTimeout)
            .Build();
    }

    public IKubernetes Client { get; }

    /// <summary>Runs <paramref name="call"/> (which re-reads what it writes on every attempt) and translates its failure.</summary>
    public async Task<T> CallAsync<T>(string verb, string resource, string? ns, Func<IKubernetes, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(
                static async (state, ct) => await state.call(state.Client, ct).ConfigureAwait(false),
                (call, Client),
                cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            throw Translate(ex, verb, resource, ns);
        }
        catch (Polly.Timeout.TimeoutRejectedException ex)
        {
            throw new OrchestrationException(OrchestrationErrorKind.Timeout, $"The Kubernetes API server did not answer a request to {verb} {resource} within {ex.Timeout}, several times. Check the API server's health, or raise RequestTimeout.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new OrchestrationException(OrchestrationErrorKind.RuntimeUnavailable, $"The Kubernetes API server could not be reached to {verb} {resource}: {ex.Message}. Check the kubeconfig's server address and the network.", ex);
        }
    }

    /// <summary>Like <see cref="CallAsync{T}"/> for a call whose 404 means "nothing to do" (a delete of what is gone, a read of what may not exist).</summary>
    public async Task<T?> CallOrDefaultAsync<T>(string verb, string resource, string? ns, Func<IKubernetes, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await CallAsync(verb, resource, ns, call, cancellationToken).ConfigureAwait(false);
        }
        catch (OrchestrationException ex) when (ex.Kind == OrchestrationErrorKind.NotFound)
        {
            return null;
        }
    }

    public static bool IsStatus(Exception exception, HttpStatusCode code) => exception is HttpOperationException { Response.StatusCode: var status } && status == code;

    internal static OrchestrationException Translate(HttpOperationException ex, string verb, string resource, string? ns)
    {
        var status = TryStatus(ex);

        // The verb of the request that failed (a create-or-update call may have failed at its read, create or update).
        verb = ex.Request?.Method?.Method switch
        {
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            "GET" when verb is "update" or "create" => "get",
            _ => verb,
        };
        var detail = status?.Message ?? ex.Response?.ReasonPhrase ?? ex.Message;
        var where = ns is null ? "at the cluster scope" : $"in namespace '{ns}'";
        return ex.Response?.StatusCode switch
        {
            HttpStatusCode.Forbidden => new OrchestrationException(
                OrchestrationErrorKind.Unauthorized,
                $"Kubernetes RBAC denied the orchestrator the verb '{verb}' on resource '{resource}' {where} (403 Forbidden: {detail}). Grant it with a Role or ClusterRole rule (verbs: [{verb}], resources: [{resource}]) bound to the orchestrator's account.",
                ex),
            HttpStatusCode.UnprocessableEntity => new OrchestrationException(
                OrchestrationErrorKind.InvalidConfiguration,
                $"Kubernetes rejected the {resource} the orchestrator wrote {where} as invalid (422): {detail}. Fix the component spec; this is not retried.",
                status?.Details?.Causes?.Select(c => $"{c.Field}: {c.Message}").ToList() ?? [detail],
                ex),
            HttpStatusCode.NotFound => new OrchestrationException(OrchestrationErrorKind.NotFound, $"Kubernetes has no such {resource} {where}: {detail}.", ex),
            HttpStatusCode.Conflict => new OrchestrationException(OrchestrationErrorKind.Conflict, $"The {resource} {where} kept changing while the orchestrator wrote it (409 Conflict after retries): {detail}. Another writer is changing it; try again.", ex),
            HttpStatusCode.Unauthorized => new OrchestrationException(OrchestrationErrorKind.Unauthorized, $"The Kubernetes API server did not accept the orchestrator's credentials (401) to {verb} {resource}: {detail}. Check the kubeconfig's user.", ex),
            _ => new OrchestrationException(OrchestrationErrorKind.RuntimeUnavailable, $"The Kubernetes API server failed to {verb} {resource} {where} ({(int?)ex.Response?.StatusCode}): {detail}.", ex),
        };
    }

    public void Dispose()
    {
        if (_ownsClient)
        {
            Client.Dispose();
        }
    }

    private static bool IsRetriable(HttpOperationException ex)
    {
        var code = ex.Response?.StatusCode;
        if (code == HttpStatusCode.Conflict)
        {
            // AlreadyExists is not a race to retry blindly: the caller decides (it reads and updates instead).
            return TryStatus(ex)?.Reason != "AlreadyExists";
        }

        return code is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;
    }

    internal static V1Status? TryStatus(HttpOperationException ex)
    {
        try
        {
            return ex.Response?.Content is { Length: > 0 } content ? KubernetesJson.Deserialize<V1Status>(content) : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
