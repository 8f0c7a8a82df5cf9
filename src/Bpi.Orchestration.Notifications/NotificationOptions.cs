namespace Bpi.Orchestration.Notifications;

/// <summary>
/// The alerts of an orchestrator: the channels notifications go to and the rules that decide which events are sent
/// where. Registered with <c>builder.AddNotifications(o => …)</c>; validated (every problem listed) when a generic host
/// starts and when the notifier first runs.
/// </summary>
public sealed class NotificationOptions
{
    /// <summary>The receivers, each named so rules can refer to it.</summary>
    /// <value>The default value is an empty list.</value>
    public IList<NotificationChannelOptions> Channels { get; } = new List<NotificationChannelOptions>();

    /// <summary>The rules: which events (triggers) of which deployments go to which channels.</summary>
    /// <value>The default value is an empty list (nothing is sent).</value>
    public IList<NotificationRule> Rules { get; } = new List<NotificationRule>();

    /// <summary>
    /// How many notifications may wait for delivery. The queue sits between the orchestrator's events and the senders: when it
    /// is full a new notification is dropped (counted and logged), never waited for, so a slow receiver cannot slow a rollout.
    /// </summary>
    /// <value>The default value is 1000.</value>
    public int QueueCapacity { get; set; } = 1000;

    /// <summary>How many notifications are sent at the same time (each with its own retries).</summary>
    /// <value>The default value is 4.</value>
    public int MaxConcurrentDeliveries { get; set; } = 4;

    /// <summary>Retries after the first attempt of a delivery that failed (a connection error, a timeout, 408, 429 or a 5xx answer); then it is given up.</summary>
    /// <value>The default value is 4.</value>
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>The first retry's delay; the next ones double it, with jitter, up to <see cref="RetryMaxDelay"/>.</summary>
    /// <value>The default value is 2 seconds.</value>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest delay between two attempts.</summary>
    /// <value>The default value is 1 minute.</value>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long one attempt may take (connect, send, answer), in real time (it bounds network I/O, so a manual clock of the host does not move it).</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Within this window a rule sends the same trigger for the same deployment and revision once: a rollout retried,
    /// resumed or reported twice does not page twice. <see cref="TimeSpan.Zero"/> turns de-duplication off.
    /// </summary>
    /// <value>The default value is 10 minutes.</value>
    public TimeSpan DeduplicationWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The <c>source</c> attribute of CloudEvents (a URI reference naming this orchestrator); <see langword="null"/> uses <c>/bpi-orchestration/{VmId}</c>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? CloudEventsSource { get; set; }
}

/// <summary>One receiver of notifications.</summary>
public sealed class NotificationChannelOptions
{
    /// <summary>The channel's name, unique among the channels; rules name it in <see cref="NotificationRule.Channels"/>.</summary>
    /// <value>The default value is empty (required).</value>
    public string Name { get; set; } = "";

    /// <summary>The message shape the receiver expects.</summary>
    /// <value>The default value is <see cref="NotificationChannelKind.Webhook"/>.</value>
    public NotificationChannelKind Kind { get; set; } = NotificationChannelKind.Webhook;

    /// <summary>The receiver's absolute http or https URL (for Slack and Teams, the incoming webhook's URL).</summary>
    /// <value>The default value is <see langword="null"/> (required).</value>
    public Uri? Url { get; set; }

    /// <summary>
    /// The key of the <c>X-Bpi-Signature: sha256=&lt;hex HMAC-SHA256 of the body&gt;</c> header, which lets the receiver
    /// check a notification came from this orchestrator unaltered. Required for <see cref="NotificationChannelKind.Webhook"/>
    /// and <see cref="NotificationChannelKind.CloudEvents"/> (at least 16 characters); optional for Slack and Teams, whose
    /// webhooks do not check it. Never logged.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Secret { get; set; }
}

/// <summary>The message shape of a <see cref="NotificationChannelOptions"/>.</summary>
public enum NotificationChannelKind
{
    /// <summary>A generic webhook: the notification as a JSON object (<c>application/json</c>), signed.</summary>
    Webhook = 0,

    /// <summary>A CloudEvents 1.0 event in structured JSON mode (<c>application/cloudevents+json</c>), signed.</summary>
    CloudEvents = 1,

    /// <summary>A Slack incoming webhook (<c>text</c> and Block Kit <c>blocks</c>).</summary>
    Slack = 2,

    /// <summary>A Microsoft Teams incoming webhook (a Workflows webhook): a message carrying an Adaptive Card.</summary>
    Teams = 3,
}

/// <summary>A rule: events that match one of <see cref="Triggers"/> (and <see cref="Deployments"/>) go to <see cref="Channels"/>.</summary>
public sealed class NotificationRule
{
    /// <summary>The rule's name, unique among the rules; it is in every notification and in the metrics.</summary>
    /// <value>The default value is empty (required).</value>
    public string Name { get; set; } = "";

    /// <summary>What the rule reacts to; empty means every trigger.</summary>
    /// <value>The default value is an empty list (every trigger).</value>
    public IList<NotificationTrigger> Triggers { get; } = new List<NotificationTrigger>();

    /// <summary>The deployment ids the rule is about (a security-gate refusal of a new deployment carries the spec's name, which has no id yet); empty means every deployment. Orchestrator-wide triggers (audit verification) ignore it.</summary>
    /// <value>The default value is an empty list (every deployment).</value>
    public IList<string> Deployments { get; } = new List<string>();

    /// <summary>The names of the channels the rule sends to (at least one).</summary>
    /// <value>The default value is an empty list (required).</value>
    public IList<string> Channels { get; } = new List<string>();

    /// <summary>The most notifications the rule sends in one <see cref="RateLimitWindow"/>; more are dropped (counted and logged) until the window ends.</summary>
    /// <value>The default value is 30.</value>
    public int RateLimit { get; set; } = 30;

    /// <summary>The window of <see cref="RateLimit"/>.</summary>
    /// <value>The default value is 1 minute.</value>
    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromMinutes(1);
}
