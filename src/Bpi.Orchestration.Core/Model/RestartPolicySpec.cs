using System.Globalization;

namespace Bpi.Orchestration;

/// <summary>
/// What the orchestrator does when an instance of a component ends between rollouts, with the names Docker and
/// Kubernetes users know: <c>always</c>, <c>on-failure[:max]</c>, <c>never</c>. A replacement after repeated failures
/// waits a crash-loop back-off (10 s doubling up to 5 minutes, as Kubernetes does). Instances that are missing (removed
/// by hand) are recreated under every policy: the replica count is the desired state.
/// </summary>
public sealed record RestartPolicySpec
{
    /// <summary>Replace every instance that ends, whatever its exit code.</summary>
    public static RestartPolicySpec Always { get; } = new() { Kind = RestartPolicyKind.Always };

    /// <summary>Never replace an instance that ended; it stays as it ended, for inspection.</summary>
    public static RestartPolicySpec Never { get; } = new() { Kind = RestartPolicyKind.Never };

    /// <summary>What to do.</summary>
    /// <value>The default value is <see cref="RestartPolicyKind.Always"/>.</value>
    public RestartPolicyKind Kind { get; init; } = RestartPolicyKind.Always;

    /// <summary>For <see cref="RestartPolicyKind.OnFailure"/>: at most this many replacements per component; <see langword="null"/> for no limit.</summary>
    public int? MaxRestarts { get; init; }

    /// <summary>Replace an instance only when it ended with a non-zero exit code (or failed), at most <paramref name="maxRestarts"/> times.</summary>
    /// <param name="maxRestarts">The limit, or <see langword="null"/> for none.</param>
    /// <returns>The policy.</returns>
    public static RestartPolicySpec OnFailure(int? maxRestarts = null) => new() { Kind = RestartPolicyKind.OnFailure, MaxRestarts = maxRestarts };

    /// <summary>Parses <c>always</c>, <c>never</c>, <c>on-failure</c> or <c>on-failure:N</c> (case-insensitive).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the text is none of those.</exception>
    public static RestartPolicySpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (trimmed.Equals("always", StringComparison.OrdinalIgnoreCase))
        {
            return Always;
        }

        if (trimmed.Equals("never", StringComparison.OrdinalIgnoreCase) || trimmed.Equals("no", StringComparison.OrdinalIgnoreCase))
        {
            return Never;
        }

        if (trimmed.Equals("on-failure", StringComparison.OrdinalIgnoreCase))
        {
            return OnFailure();
        }

        if (trimmed.StartsWith("on-failure:", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(trimmed.AsSpan("on-failure:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max >= 0)
        {
            return OnFailure(max);
        }

        throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"'{text}' is not a restart policy: use always, never, on-failure or on-failure:N (N a whole number of restarts).");
    }

    /// <summary>The policy as <see cref="Parse"/> reads it.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => Kind switch
    {
        RestartPolicyKind.Never => "never",
        RestartPolicyKind.OnFailure => MaxRestarts is { } max ? string.Create(CultureInfo.InvariantCulture, $"on-failure:{max}") : "on-failure",
        _ => "always",
    };

    /// <summary>Whether an instance that ended with <paramref name="exitCode"/> is replaced after <paramref name="restarts"/> replacements.</summary>
    internal bool Allows(int? exitCode, bool failed, int restarts) => Kind switch
    {
        RestartPolicyKind.Never => false,
        RestartPolicyKind.OnFailure => (failed || exitCode is not 0) && (MaxRestarts is not { } max || restarts < max),
        _ => true,
    };
}

/// <summary>The kinds of <see cref="RestartPolicySpec"/>.</summary>
public enum RestartPolicyKind
{
    /// <summary>Replace every instance that ends.</summary>
    Always = 0,

    /// <summary>Replace an instance that ended with a non-zero exit code, up to a limit.</summary>
    OnFailure,

    /// <summary>Never replace an instance that ended.</summary>
    Never,
}
