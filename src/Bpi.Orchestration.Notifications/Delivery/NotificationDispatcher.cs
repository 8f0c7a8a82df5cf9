using System.Diagnostics.Metrics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Notifications;

/// <summary>
/// The notifier: watches every event of the orchestrator, matches the rules (trigger, deployment, de-duplication, rate
/// limit) and queues a delivery per channel on a bounded queue that a few senders drain. The orchestrator publishes to
/// the watch's own unbounded channel and the watch only ever <c>TryWrite</c>s to the queue, so no rollout waits on a
/// receiver: when the queue is full the delivery is dropped, counted and logged.
/// </summary>
internal sealed class NotificationDispatcher : IHostedService, IAsyncDisposable
{
    private readonly IOrchestrationVm _vm;
    private readonly IOptions<NotificationOptions> _options;
    private readonly IHttpClientFactory _clients;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly NotificationTelemetry _telemetry;
    private readonly Lock _gate = new();
    private CancellationTokenSource? _watchStop;
    private CancellationTokenSource? _sendStop;
    private Task _running = Task.CompletedTask;

    public NotificationDispatcher(IOrchestrationVm vm, IOptions<NotificationOptions> options, IHttpClientFactory clients, TimeProvider? time = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        _vm = vm;
        _options = options;
        _clients = clients;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger("Bpi.Orchestration.Notifications") ?? NullLogger.Instance;
        _telemetry = new NotificationTelemetry(meterFactory);
    }

    /// <summary>Subscribes to the orchestrator's events now (none published after this call is missed) and starts the senders. Idempotent.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Bad options fail here with the OptionsValidationException that lists every problem.
        var options = _options.Value;
        lock (_gate)
        {
            if (_watchStop is not null)
            {
                return Task.CompletedTask;
            }

            _watchStop = new CancellationTokenSource();
            _sendStop = new CancellationTokenSource();
            var queue = Channel.CreateBounded<Delivery>(new BoundedChannelOptions(options.QueueCapacity) { FullMode = BoundedChannelFullMode.Wait });
            var events = _vm.WatchAsync(null, _watchStop.Token);
            var source = options.CloudEventsSource ?? "/bpi-orchestration/" + Uri.EscapeDataString(_vm.VmId);
            var sender = new NotificationSender(options, _clients, _time, _telemetry, _logger, source);
            var watch = Task.Run(() => WatchAsync(events, options, queue.Writer), CancellationToken.None);
            var senders = Enumerable.Range(0, options.MaxConcurrentDeliveries).Select(_ => Task.Run(() => SendAsync(queue.Reader, sender, _sendStop.Token), CancellationToken.None));
            _running = Task.WhenAll([watch, .. senders]);
        }

        Log.Started(_logger, options.Rules.Count, options.Channels.Count);
        return Task.CompletedTask;
    }

    /// <summary>Stops watching, then lets the senders finish what is queued (retries included) until <paramref name="cancellationToken"/> ends the wait; what is left is cancelled.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        CancellationTokenSource? watchStop, sendStop;
        lock (_gate)
        {
            (watchStop, sendStop) = (_watchStop, _sendStop);
        }

        if (watchStop is null || sendStop is null)
        {
            return;
        }

        await watchStop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await sendStop.CancelAsync().ConfigureAwait(false);
            await _running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var now = new CancellationTokenSource();
        await now.CancelAsync().ConfigureAwait(false);
        await StopAsync(now.Token).ConfigureAwait(false);
        _watchStop?.Dispose();
        _sendStop?.Dispose();
        _telemetry.Dispose();
    }

    private async Task WatchAsync(IAsyncEnumerable<DeploymentEvent> events, NotificationOptions options, ChannelWriter<Delivery> queue)
    {
        var gate = new RuleGate(_time, options.DeduplicationWindow);
        var channels = options.Channels.ToDictionary(c => c.Name, StringComparer.Ordinal);
        try
        {
            await foreach (var e in events.ConfigureAwait(false))
            {
                if (NotificationTriggers.Of(e) is { } trigger)
                {
                    Route(e, trigger, options, gate, channels, queue);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.WatchFailed(_logger, ex);
        }
        finally
        {
            queue.TryComplete();
        }
    }

    private void Route(DeploymentEvent e, NotificationTrigger trigger, NotificationOptions options, RuleGate gate, Dictionary<string, NotificationChannelOptions> channels, ChannelWriter<Delivery> queue)
    {
        foreach (var rule in options.Rules)
        {
            if ((rule.Triggers.Count > 0 && !rule.Triggers.Contains(trigger))
                || (rule.Deployments.Count > 0 && e.DeploymentId.Length > 0 && !rule.Deployments.Contains(e.DeploymentId, StringComparer.Ordinal)))
            {
                continue;
            }

            if (gate.Admit(rule, trigger, e) is { } reason)
            {
                _telemetry.Suppressed(rule.Name, reason);
                if (reason == NotificationTelemetry.RateLimited)
                {
                    Log.RateLimited(_logger, rule.Name, rule.RateLimit, rule.RateLimitWindow, NotificationTriggers.Name(trigger), e.DeploymentId);
                }
                else
                {
                    Log.Suppressed(_logger, rule.Name, NotificationTriggers.Name(trigger), e.DeploymentId, reason);
                }

                continue;
            }

            var notification = new Notification(string.Create(CultureInfo.InvariantCulture, $"{e.Sequence}.{rule.Name}"), rule.Name, trigger, e);
            foreach (var name in rule.Channels)
            {
                var channel = channels[name];
                if (!queue.TryWrite(new Delivery(notification, channel)))
                {
                    _telemetry.Delivery(channel, NotificationTelemetry.Dropped);
                    Log.Dropped(_logger, notification.Id, notification.TriggerName, channel.Name, options.QueueCapacity);
                }
            }
        }
    }

    private static async Task SendAsync(ChannelReader<Delivery> queue, NotificationSender sender, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var delivery in queue.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await sender.SendAsync(delivery, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
