using System.Globalization;

namespace Bpi.Orchestration.Strategies.Rolling;

/// <summary>
/// A rolling update (as a Kubernetes Deployment): new instances replace old ones in batches, never more than
/// <c>replicas + maxSurge</c> instances and never fewer than <c>replicas − maxUnavailable</c> available. Percentages are
/// resolved against the desired replicas with Kubernetes rounding (surge up, unavailable down); when both come to 0,
/// unavailable becomes 1. An instance counts as available once it passed its health check and stayed ready for
/// <see cref="ValidationSettings.MinReadyTime"/>; a batch that makes no progress within
/// <see cref="ValidationSettings.ProgressDeadline"/> fails the rollout, and <see cref="RollbackSettings.Automatic"/> decides
/// whether it is rolled back. Pause and resume mid-rollout through the orchestrator.
/// </summary>
public sealed record RollingStrategySpec : ProgressiveStrategySpec
{
    /// <summary>The strategy name, <c>rolling</c>.</summary>
    public const string StrategyName = "rolling";

    /// <inheritdoc />
    public override string Name => StrategyName;

    /// <summary>How many instances may exist above the desired replicas during the update (count or percentage, rounded up).</summary>
    /// <value>The default value is 25%.</value>
    public IntOrPercent MaxSurge { get; init; } = IntOrPercent.Percent(25);

    /// <summary>How many instances may be unavailable below the desired replicas during the update (count or percentage, rounded down).</summary>
    /// <value>The default value is 25%.</value>
    public IntOrPercent MaxUnavailable { get; init; } = IntOrPercent.Percent(25);

    /// <summary>At most this many instances are started (and stopped) per batch; <see langword="null"/> lets surge and unavailability alone decide.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? BatchSize { get; init; }

    /// <summary>How long to wait between batches (a pause that <see cref="IOrchestrationVm.PromoteAsync"/> ends early).</summary>
    /// <value>The default value is zero.</value>
    public TimeSpan PauseBetweenBatches { get; init; } = TimeSpan.Zero;

    /// <inheritdoc />
    public override IEnumerable<string> Validate(DeploymentSpec spec)
    {
        foreach (var problem in base.Validate(spec))
        {
            yield return problem;
        }

        foreach (var (value, field) in new[] { (MaxSurge, "maxSurge"), (MaxUnavailable, "maxUnavailable") })
        {
            if (value.Value < 0)
            {
                yield return $"{field}: {value} must not be negative.";
            }
            else if (value.IsPercent && value.Value > 100)
            {
                yield return $"{field}: {value} must be at most 100%.";
            }
        }

        if (MaxSurge.Value == 0 && MaxUnavailable.Value == 0)
        {
            yield return "maxSurge and maxUnavailable: are both 0, so no instance could ever be replaced; allow a surge or some unavailability.";
        }

        if (BatchSize is < 1)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"batchSize: {BatchSize} must be at least 1 (or unset).");
        }

        if (PauseBetweenBatches < TimeSpan.Zero)
        {
            yield return "pauseBetweenBatches: must not be negative.";
        }

        if (DeploymentSpec.CheckDuration("pauseBetweenBatches", PauseBetweenBatches) is { } tooLong)
        {
            yield return tooLong;
        }
    }

    /// <summary>Resolves <see cref="MaxSurge"/> and <see cref="MaxUnavailable"/> for a replica count with Kubernetes rounding.</summary>
    /// <param name="replicas">The desired replicas.</param>
    /// <returns>The surge (rounded up) and the unavailability (rounded down; 1 when both would be 0).</returns>
    public (int Surge, int Unavailable) Resolve(int replicas)
    {
        var surge = Math.Max(0, MaxSurge.Resolve(replicas, roundUp: true));
        var unavailable = Math.Max(0, MaxUnavailable.Resolve(replicas, roundUp: false));
        if (surge == 0 && unavailable == 0)
        {
            unavailable = 1;
        }

        return (surge, unavailable);
    }
}
