using System.Diagnostics;
using System.Diagnostics.Metrics;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration.Notifications;

/// <summary>
/// The notifier's instruments, on the SDK's one meter (<c>Bpi.Orchestration</c>):
/// <c>bpi.orchestration.notifications.deliveries</c> ({notification}; tags <c>channel.name</c>, <c>channel.kind</c>,
/// <c>outcome</c> = delivered | failed | dropped) and <c>bpi.orchestration.notifications.suppressed</c> ({notification};
/// tags <c>rule.name</c>, <c>reason</c> = duplicate | rate_limited).
/// </summary>
internal sealed class NotificationTelemetry : IDisposable
{
    public const string DeliveriesName = "bpi.orchestration.notifications.deliveries";
    public const string SuppressedName = "bpi.orchestration.notifications.suppressed";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
    public const string Dropped = "dropped";
    public const string Duplicate = "duplicate";
    public const string RateLimited = "rate_limited";

    private readonly Meter? _ownMeter;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _suppressed;

    public NotificationTelemetry(IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(new MeterOptions(OrchestrationTelemetryNames.Name));
        if (meter is null)
        {
            meter = _ownMeter = new Meter(OrchestrationTelemetryNames.Name);
        }

        _deliveries = meter.CreateCounter<long>(DeliveriesName, "{notification}", "Notifications per channel by outcome: delivered, failed (given up after retries) or dropped (the queue was full).");
        _suppressed = meter.CreateCounter<long>(SuppressedName, "{notification}", "Notifications a rule did not send: a duplicate within the de-duplication window, or over the rule's rate limit.");
    }

    public void Delivery(NotificationChannelOptions channel, string outcome)
        => _deliveries.Add(1, new TagList { { "channel.name", channel.Name }, { "channel.kind", channel.Kind.ToString() }, { "outcome", outcome } });

    public void Suppressed(string rule, string reason)
        => _suppressed.Add(1, new TagList { { "rule.name", rule }, { "reason", reason } });

    public void Dispose() => _ownMeter?.Dispose();
}
