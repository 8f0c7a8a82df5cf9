namespace Bpi.Orchestration.Notifications;

/// <summary>One notification of one rule, built from the event that matched it; the channels format it.</summary>
/// <param name="Id">Unique per orchestrator: the event's sequence and the rule.</param>
/// <param name="Rule">The rule's name.</param>
/// <param name="Trigger">What happened.</param>
/// <param name="Event">The orchestrator's event.</param>
internal sealed record Notification(string Id, string Rule, NotificationTrigger Trigger, DeploymentEvent Event)
{
    public string TriggerName => NotificationTriggers.Name(Trigger);
}

/// <summary>A notification on its way to one channel.</summary>
internal sealed record Delivery(Notification Notification, NotificationChannelOptions Channel);
