namespace Bpi.Orchestration.Healing;

/// <summary>Self-healing's memory of one component of a deployment: failures seen, back-off, restarts, traffic. Guarded by the healer.</summary>
internal sealed class ComponentHealth(string componentId)
{
    public string ComponentId { get; } = componentId;

    public HealingState State { get; set; }

    public int Restarts { get; set; }

    /// <summary>Failures in a row (reset after a quiet spell): the back-off doubles with each.</summary>
    public int Consecutive { get; set; }

    public DateTimeOffset? LastFailureAt { get; set; }

    public DateTimeOffset? NextRestartAt { get; set; }

    public int? LastExitCode { get; set; }

    public string? LastFailure { get; set; }

    public IReadOnlyList<string> LastLogLines { get; set; } = [];

    /// <summary>Instances whose failure was counted already (an ended instance is seen on every pass until removed).</summary>
    public HashSet<string> Counted { get; } = new(StringComparer.Ordinal);

    /// <summary>Replacements before each current instance in its slot.</summary>
    public Dictionary<string, int> InstanceRestarts { get; } = new(StringComparer.Ordinal);

    /// <summary>The instances the route was last set to; <see langword="null"/> when the last plan (a rollout) routed every ready one.</summary>
    public HashSet<string>? Routed { get; set; }

    /// <summary>Instances kept but out of traffic (not ready).</summary>
    public HashSet<string> OutOfTraffic { get; } = new(StringComparer.Ordinal);

    /// <summary>Counts a new failure and sets when the replacement is due: at once for the first, then the back-off doubling to its cap.</summary>
    public void RegisterFailure(DateTimeOffset now, OrchestrationOptions options)
    {
        if (LastFailureAt is { } last && now - last >= options.CrashLoopResetAfter)
        {
            Consecutive = 0;
        }

        Consecutive++;
        LastFailureAt = now;
        NextRestartAt = now + Backoff(Consecutive, options);
    }

    /// <summary>The wait before the replacement after <paramref name="consecutive"/> failures in a row: 0, 10 s, 20 s, 40 s, … capped.</summary>
    public static TimeSpan Backoff(int consecutive, OrchestrationOptions options)
    {
        if (consecutive <= 1)
        {
            return TimeSpan.Zero;
        }

        var ticks = options.CrashLoopBackoff.Ticks;
        for (var i = 2; i < consecutive && ticks < options.CrashLoopMaxBackoff.Ticks; i++)
        {
            ticks *= 2;
        }

        return TimeSpan.FromTicks(Math.Min(ticks, options.CrashLoopMaxBackoff.Ticks));
    }

    public ComponentHealing ToStatus() => new(
        ComponentId,
        State,
        Restarts,
        new Dictionary<string, int>(InstanceRestarts, StringComparer.Ordinal),
        [.. OutOfTraffic.Order(StringComparer.Ordinal)],
        LastExitCode,
        LastFailure,
        LastLogLines,
        State == HealingState.CrashLoopBackOff ? NextRestartAt : null);
}
