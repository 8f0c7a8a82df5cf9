using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Bpi.Orchestration.Notifications;

/// <summary>
/// Sends one delivery over HTTP through the <c>bpi-orchestration-notifications</c> pipeline: retried with jittered
/// exponential back-off on the orchestrator's <see cref="TimeProvider"/> while the receiver fails transiently, then given
/// up. Every outcome is counted and logged; nothing is thrown to the caller but cancellation.
/// </summary>
/// <remarks>
/// The timeout of one attempt (<see cref="NotificationOptions.AttemptTimeout"/>) bounds real network I/O, so it runs on
/// the system clock, not on the orchestrator's: a host that drives a manual clock (a test moving it a day ahead in a
/// loop) must not cut off a request that is in flight. The back-off between attempts is the orchestrator's time.
/// </remarks>
internal sealed class NotificationSender
{
    public const string PipelineName = "bpi-orchestration-notifications";
    public const string HttpClientName = "Bpi.Orchestration.Notifications";

    private static readonly ResiliencePropertyKey<Delivery> DeliveryKey = new("bpi.notification.delivery");

    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly IHttpClientFactory _clients;
    private readonly NotificationTelemetry _telemetry;
    private readonly ILogger _logger;
    private readonly string _cloudEventsSource;
    private readonly TimeSpan _attemptTimeout;

    public NotificationSender(NotificationOptions options, IHttpClientFactory clients, TimeProvider time, NotificationTelemetry telemetry, ILogger logger, string cloudEventsSource)
    {
        _clients = clients;
        _telemetry = telemetry;
        _logger = logger;
        _cloudEventsSource = cloudEventsSource;
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = PipelineName, TimeProvider = time };
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldHandle = static args => ValueTask.FromResult(IsTransientReceiverFault(args.Outcome)),
                OnRetry = args =>
                {
                    var delivery = args.Context.Properties.GetValue(DeliveryKey, null!);
                    Log.Retrying(_logger, delivery.Notification.Id, delivery.Notification.TriggerName, delivery.Channel.Name, args.AttemptNumber + 1, Describe(args.Outcome), args.RetryDelay);
                    return default;
                },
            });
        }

        _attemptTimeout = options.AttemptTimeout;
        _pipeline = builder.Build();
    }

    /// <summary>A failure worth another attempt: no answer (connection, timeout), or an answer that says "later" (408, 429, 5xx).</summary>
    internal static bool IsTransientReceiverFault(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutException } => true,
        { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500,
        _ => false,
    };

    public async Task SendAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        var (body, mediaType) = NotificationPayload.Build(delivery.Notification, delivery.Channel.Kind, _cloudEventsSource);
        var signature = string.IsNullOrEmpty(delivery.Channel.Secret) ? null : NotificationPayload.Sign(delivery.Channel.Secret, body);
        var state = new AttemptState(delivery, body, mediaType, signature, _clients.CreateClient(HttpClientName), _attemptTimeout);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(DeliveryKey, delivery);
        Outcome<HttpResponseMessage> outcome;
        try
        {
            outcome = await _pipeline.ExecuteOutcomeAsync(static (ctx, s) => s.AttemptAsync(ctx.CancellationToken), context, state).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        using var response = outcome.Result;
        if (response is { IsSuccessStatusCode: true })
        {
            _telemetry.Delivery(delivery.Channel, NotificationTelemetry.Delivered);
            Log.Delivered(_logger, delivery.Notification.Id, delivery.Notification.TriggerName, delivery.Channel.Name, state.Attempts);
            return;
        }

        cancellationToken.ThrowIfCancellationRequested();
        _telemetry.Delivery(delivery.Channel, NotificationTelemetry.Failed);
        Log.GaveUp(_logger, delivery.Notification.Id, delivery.Notification.TriggerName, delivery.Channel.Name, state.Attempts, Describe(outcome), Redacted(delivery.Channel.Url!));
    }

    private static string Describe(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: TimeoutException } => "no answer within NotificationOptions.AttemptTimeout",
        { Exception: { } ex } => ex.Message,
        { Result: { } r } => $"HTTP {(int)r.StatusCode} {r.ReasonPhrase}",
        _ => "no answer",
    };

    /// <summary>The URL without its path and query: Slack and Teams webhook URLs carry their secret there.</summary>
    private static string Redacted(Uri url) => url.GetLeftPart(UriPartial.Authority) + "/…";

    private sealed class AttemptState(Delivery delivery, byte[] body, string mediaType, string? signature, HttpClient client, TimeSpan timeout)
    {
        public int Attempts { get; private set; }

        public async ValueTask<Outcome<HttpResponseMessage>> AttemptAsync(CancellationToken cancellationToken)
        {
            Attempts++;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Channel.Url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType) { CharSet = "utf-8" };
                request.Headers.TryAddWithoutValidation(NotificationPayload.DeliveryHeader, delivery.Notification.Id);
                if (signature is not null)
                {
                    request.Headers.TryAddWithoutValidation(NotificationPayload.SignatureHeader, signature);
                }

                var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
                return Outcome.FromResult(response);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return Outcome.FromException<HttpResponseMessage>(new TimeoutException($"No answer within {timeout}."));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return Outcome.FromException<HttpResponseMessage>(ex);
            }
        }
    }
}
