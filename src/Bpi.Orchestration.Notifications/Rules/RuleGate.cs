namespace Bpi.Orchestration.Notifications;

/// <summary>
/// Decides, on the <see cref="TimeProvider"/>, whether a rule sends a notification: once per rule, deployment (for a breaker change: target and state), trigger
/// and revision within <see cref="NotificationOptions.DeduplicationWindow"/>, and at most
/// <see cref="NotificationRule.RateLimit"/> per <see cref="NotificationRule.RateLimitWindow"/> (a fixed window). Written
/// here rather than with System.Threading.RateLimiting because its limiters read the system's clock, not the
/// orchestrator's <see cref="TimeProvider"/>, so a manual clock could not drive them. Used by the one event loop only.
/// </summary>
internal sealed class RuleGate(TimeProvider time, TimeSpan deduplicationWindow)
{
    private readonly Dictionary<(string Rule, string Deployment, NotificationTrigger Trigger, int? Revision), DateTimeOffset> _sent = [];
    private readonly Dictionary<string, (DateTimeOffset Start, int Count)> _windows = new(StringComparer.Ordinal);

    /// <summary>Why a notification is not sent, or <see langword="null"/> to send it (and count it).</summary>
    public string? Admit(NotificationRule rule, NotificationTrigger trigger, DeploymentEvent e)
    {
        var now = time.GetUtcNow();
        var key = (rule.Name, NotificationTriggers.Subject(e), trigger, e.Revision);
        if (deduplicationWindow > TimeSpan.Zero)
        {
            if (_sent.TryGetValue(key, out var at) && now - at < deduplicationWindow)
            {
                return NotificationTelemetry.Duplicate;
            }

            if (_sent.Count >= 4096)
            {
                Forget(now);
            }
        }

        if (!_windows.TryGetValue(rule.Name, out var window) || now - window.Start >= rule.RateLimitWindow)
        {
            window = (now, 0);
        }

        if (window.Count >= rule.RateLimit)
        {
            return NotificationTelemetry.RateLimited;
        }

        _windows[rule.Name] = (window.Start, window.Count + 1);
        if (deduplicationWindow > TimeSpan.Zero)
        {
            _sent[key] = now;
        }

        return null;
    }

    private void Forget(DateTimeOffset now)
    {
        foreach (var (key, at) in _sent.ToList())
        {
            if (now - at >= deduplicationWindow)
            {
                _sent.Remove(key);
            }
        }
    }
}
