using System.Text.Json.Serialization;
using Bpi.Orchestration.Resilience;

namespace Bpi.Orchestration.Cli.Output;

/// <summary>
/// What <c>health</c> prints: whether the runtime answers and the state of each circuit breaker. Published as
/// <c>live/.health.json</c> by the process that runs the orchestrator (source <c>live</c>), or probed by <c>health</c>
/// itself when no orchestrator runs on the state directory (source <c>probe</c>: no breakers, since breakers live in a
/// running orchestrator).
/// </summary>
internal sealed record HealthView
{
    /// <summary>The values of <see cref="Source"/>.</summary>
    public static class Sources
    {
        public const string Live = "live";
        public const string Probe = "probe";
    }

    /// <summary><c>live</c> (published by the running orchestrator) or <c>probe</c> (this command asked the runtime).</summary>
    public required string Source { get; init; }

    /// <summary>The runtime's name (<c>process</c>, <c>docker</c>, <c>kubernetes</c>).</summary>
    public required string Runtime { get; init; }

    /// <summary>Whether the runtime answered (live: its circuit is not open).</summary>
    public required bool RuntimeReachable { get; init; }

    /// <summary>Why it did not, if it did not.</summary>
    public string? RuntimeError { get; init; }

    /// <summary>When this was observed.</summary>
    public required DateTimeOffset ObservedAt { get; init; }

    /// <summary>Every circuit breaker of the running orchestrator, ordered by target.</summary>
    public required IReadOnlyList<CircuitBreakerView> CircuitBreakers { get; init; }

    /// <summary>Whether the runtime answers and no breaker is open.</summary>
    [JsonIgnore]
    public bool Healthy => RuntimeReachable && !AnyOpen;

    /// <summary>Whether any breaker is open.</summary>
    [JsonIgnore]
    public bool AnyOpen => CircuitBreakers.Any(b => b.State == CircuitBreakerView.Open);

    /// <summary>The view of a running orchestrator's breakers; the runtime is reachable unless its own breaker (<c>runtime:…</c>) is open.</summary>
    public static HealthView From(string runtime, IReadOnlyList<CircuitBreakerStatus> breakers, DateTimeOffset now)
    {
        var views = breakers.Select(CircuitBreakerView.From).ToList();
        var runtimeOpen = breakers.FirstOrDefault(b => b.Target.StartsWith("runtime:", StringComparison.Ordinal) && b.State == CircuitBreakerState.Open);
        return new HealthView
        {
            Source = Sources.Live,
            Runtime = runtime,
            RuntimeReachable = runtimeOpen is null,
            RuntimeError = runtimeOpen is null ? null : $"its circuit breaker is open: {runtimeOpen.LastFailure ?? "no failure recorded"}",
            ObservedAt = now,
            CircuitBreakers = views,
        };
    }
}

/// <summary>One circuit breaker: target, <c>closed</c>/<c>open</c>/<c>half-open</c>, since when, the last counted failure and its class.</summary>
internal sealed record CircuitBreakerView(string Target, string State, DateTimeOffset? Since, string? LastFaultClass, string? LastFailure, int TimesOpened)
{
    public const string Open = "open";

    public static CircuitBreakerView From(CircuitBreakerStatus status) => new(
        status.Target,
        status.State switch { CircuitBreakerState.Open => Open, CircuitBreakerState.HalfOpen => "half-open", _ => "closed" },
        status.ChangedAt,
        status.LastFaultClass?.ToString().ToLowerInvariant(),
        status.LastFailure,
        status.TimesOpened);
}
