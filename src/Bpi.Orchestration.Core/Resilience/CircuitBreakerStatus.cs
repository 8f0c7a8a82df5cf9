namespace Bpi.Orchestration.Resilience;

/// <summary>The state of one target's circuit breaker.</summary>
public enum CircuitBreakerState
{
    /// <summary>Calls flow; failures are counted.</summary>
    Closed = 0,

    /// <summary>Calls fail fast with <see cref="CircuitOpenException"/> until the break ends.</summary>
    Open,

    /// <summary>The break ended; a trial call decides whether the circuit closes or opens again.</summary>
    HalfOpen,
}

/// <summary>One target's circuit breaker, as <see cref="VmState.CircuitBreakers"/> and the health checks report it.</summary>
/// <param name="Target">The guarded target, for example <c>runtime:docker</c>.</param>
/// <param name="State">Its state.</param>
/// <param name="ChangedAt">When it last changed state, or <see langword="null"/> when it never did.</param>
/// <param name="LastFailure">The last failure counted against it, if any.</param>
/// <param name="TimesOpened">How often it opened since the orchestrator started.</param>
public sealed record CircuitBreakerStatus(string Target, CircuitBreakerState State, DateTimeOffset? ChangedAt, string? LastFailure, int TimesOpened)
{
    /// <summary>The class of <see cref="LastFailure"/> (<see cref="FaultClass.Transient"/> or <see cref="FaultClass.Throttled"/>: only those count), or <see langword="null"/> when none was counted.</summary>
    public FaultClass? LastFaultClass { get; init; }

    /// <summary>A one-line description, for example <c>runtime:docker: Open since 2026-01-01T10:00:00Z (…)</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString()
        => $"{Target}: {State}{(ChangedAt is { } at ? " since " + at.ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "")}{(State != CircuitBreakerState.Closed && LastFailure is not null ? " (" + LastFailure + ")" : "")}";
}
