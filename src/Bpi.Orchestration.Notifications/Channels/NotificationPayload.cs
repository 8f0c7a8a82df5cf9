using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Bpi.Orchestration.Notifications;

/// <summary>The bodies each channel kind expects, and the signature header over them.</summary>
internal static class NotificationPayload
{
    /// <summary>The signature header: <c>sha256=</c> and the lowercase hex HMAC-SHA256 of the body under the channel's secret.</summary>
    public const string SignatureHeader = "X-Bpi-Signature";

    /// <summary>The notification's id, so a receiver can drop a retried delivery it already has.</summary>
    public const string DeliveryHeader = "X-Bpi-Notification-Id";

    /// <summary>The CloudEvents <c>type</c> prefix (reverse DNS); the trigger's name follows.</summary>
    public const string CloudEventTypePrefix = "dev.bpi-orchestration.";

    /// <summary>The body and its media type for a channel kind.</summary>
    public static (byte[] Body, string MediaType) Build(Notification n, NotificationChannelKind kind, string cloudEventsSource) => kind switch
    {
        NotificationChannelKind.Webhook => (Write(w => WriteNotification(w, n)), "application/json"),
        NotificationChannelKind.CloudEvents => (Write(w => WriteCloudEvent(w, n, cloudEventsSource)), "application/cloudevents+json"),
        NotificationChannelKind.Slack => (Write(w => WriteSlack(w, n)), "application/json"),
        NotificationChannelKind.Teams => (Write(w => WriteTeams(w, n)), "application/json"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown channel kind."),
    };

    /// <summary>The <see cref="SignatureHeader"/> value for a body.</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body)
        => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return buffer.ToArray();
    }

    private static void WriteNotification(Utf8JsonWriter w, Notification n)
    {
        var e = n.Event;
        w.WriteStartObject();
        w.WriteString("id", n.Id);
        w.WriteString("rule", n.Rule);
        w.WriteString("trigger", n.TriggerName);
        w.WriteString("title", NotificationTriggers.Title(n.Trigger));
        w.WriteString("deploymentId", e.DeploymentId);
        if (e.Revision is { } revision)
        {
            w.WriteNumber("revision", revision);
        }
        else
        {
            w.WriteNull("revision");
        }

        w.WriteString("state", e.State.ToString());
        w.WriteString("message", e.Message);
        w.WriteString("timestamp", e.Timestamp);
        w.WriteNumber("sequence", e.Sequence);
        w.WriteString("eventKind", e.Kind.ToString());
        if (e.CircuitBreaker is { } breaker)
        {
            w.WriteStartObject("circuitBreaker");
            w.WriteString("target", breaker.Target);
            w.WriteString("state", breaker.State.ToString());
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteCloudEvent(Utf8JsonWriter w, Notification n, string source)
    {
        // Structured content mode of CloudEvents 1.0 (JSON event format): the required attributes, then the data.
        w.WriteStartObject();
        w.WriteString("specversion", "1.0");
        w.WriteString("id", n.Id);
        w.WriteString("source", source);
        w.WriteString("type", CloudEventTypePrefix + n.TriggerName);
        if (n.Event.DeploymentId.Length > 0)
        {
            w.WriteString("subject", n.Event.DeploymentId);
        }

        w.WriteString("time", n.Event.Timestamp);
        w.WriteString("datacontenttype", "application/json");
        w.WritePropertyName("data");
        WriteNotification(w, n);
        w.WriteEndObject();
    }

    private static void WriteSlack(Utf8JsonWriter w, Notification n)
    {
        var e = n.Event;
        var title = NotificationTriggers.Title(n.Trigger);
        var subject = Subject(e);
        w.WriteStartObject();
        w.WriteString("text", $"{title}: {subject}: {e.Message}");
        w.WriteStartArray("blocks");

        w.WriteStartObject();
        w.WriteString("type", "header");
        w.WriteStartObject("text");
        w.WriteString("type", "plain_text");
        w.WriteString("text", (NotificationTriggers.IsAlarm(n) ? ":rotating_light: " : ":information_source: ") + title);
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartObject();
        w.WriteString("type", "section");
        w.WriteStartObject("text");
        w.WriteString("type", "mrkdwn");
        w.WriteString("text", $"*{SlackEscape(subject)}*\n{SlackEscape(e.Message)}");
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartObject();
        w.WriteString("type", "context");
        w.WriteStartArray("elements");
        w.WriteStartObject();
        w.WriteString("type", "mrkdwn");
        w.WriteString("text", SlackEscape($"state {e.State} · rule {n.Rule} · {e.Timestamp.ToString("u", CultureInfo.InvariantCulture)}"));
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteTeams(Utf8JsonWriter w, Notification n)
    {
        var e = n.Event;
        w.WriteStartObject();
        w.WriteString("type", "message");
        w.WriteStartArray("attachments");
        w.WriteStartObject();
        w.WriteString("contentType", "application/vnd.microsoft.card.adaptive");
        w.WriteNull("contentUrl");
        w.WriteStartObject("content");
        w.WriteString("$schema", "http://adaptivecards.io/schemas/adaptive-card.json");
        w.WriteString("type", "AdaptiveCard");
        w.WriteString("version", "1.4");
        w.WriteStartArray("body");

        w.WriteStartObject();
        w.WriteString("type", "TextBlock");
        w.WriteString("size", "Large");
        w.WriteString("weight", "Bolder");
        w.WriteString("color", NotificationTriggers.IsAlarm(n) ? "Attention" : "Good");
        w.WriteString("text", NotificationTriggers.Title(n.Trigger));
        w.WriteBoolean("wrap", true);
        w.WriteEndObject();

        w.WriteStartObject();
        w.WriteString("type", "TextBlock");
        w.WriteString("text", e.Message);
        w.WriteBoolean("wrap", true);
        w.WriteEndObject();

        w.WriteStartObject();
        w.WriteString("type", "FactSet");
        w.WriteStartArray("facts");
        Fact(w, "Deployment", e.DeploymentId.Length > 0 ? e.DeploymentId : "(orchestrator)");
        Fact(w, "Revision", e.Revision?.ToString(CultureInfo.InvariantCulture) ?? "-");
        Fact(w, "State", e.State.ToString());
        Fact(w, "Rule", n.Rule);
        Fact(w, "Time", e.Timestamp.ToString("u", CultureInfo.InvariantCulture));
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Fact(Utf8JsonWriter w, string title, string value)
    {
        w.WriteStartObject();
        w.WriteString("title", title);
        w.WriteString("value", value);
        w.WriteEndObject();
    }

    private static string Subject(DeploymentEvent e)
        => e.DeploymentId.Length == 0 ? "the orchestrator"
            : e.Revision is { } r ? string.Create(CultureInfo.InvariantCulture, $"deployment {e.DeploymentId} revision {r}")
            : $"deployment {e.DeploymentId}";

    /// <summary>Slack's mrkdwn treats &amp;, &lt; and &gt; as control characters: they are escaped as Slack documents.</summary>
    private static string SlackEscape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
