using System.Globalization;
using Bpi.Orchestration.Strategies.Analysis;

namespace Bpi.Orchestration.Strategies.BlueGreen;

/// <summary>
/// A blue-green rollout (as Argo Rollouts): the new ("green") revision comes up at full size beside the serving
/// ("blue") one, reachable on a preview route; a pre-promotion analysis may check it; promotion is automatic, automatic
/// after a delay, or manual (<see cref="IOrchestrationVm.PromoteAsync"/>); traffic then switches at once or in
/// <see cref="TrafficSteps"/> (each with a duration and an optional validation); a post-promotion analysis may follow;
/// blue keeps running for <see cref="ScaleDownDelay"/> so an abort switches back instantly without starting anything.
/// </summary>
public sealed record BlueGreenStrategySpec : ProgressiveStrategySpec
{
    /// <summary>The strategy name, <c>blue-green</c>.</summary>
    public const string StrategyName = "blue-green";

    /// <inheritdoc />
    public override string Name => StrategyName;

    /// <summary>How many green instances to start before promotion; <see langword="null"/> starts the full count.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? PreviewReplicas { get; init; }

    /// <summary>Whether green gets a preview route (service <c>{deployment}/{component}/preview</c>) while it is not yet promoted.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool PreviewRoute { get; init; } = true;

    /// <summary>Run against green before any traffic switches; a failure aborts the rollout.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public AnalysisSpec? PrePromotionAnalysis { get; init; }

    /// <summary>Run after all traffic switched, while blue still runs; a failure switches traffic back to blue.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public AnalysisSpec? PostPromotionAnalysis { get; init; }

    /// <summary>How promotion happens.</summary>
    /// <value>The default value is <see cref="BlueGreenPromotion.Automatic"/>.</value>
    public BlueGreenPromotion Promotion { get; init; } = BlueGreenPromotion.Automatic;

    /// <summary>For <see cref="BlueGreenPromotion.AutomaticAfterDelay"/>: how long to wait (a promotion ends it early).</summary>
    /// <value>The default value is 1 minute.</value>
    public TimeSpan AutoPromotionDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Switch traffic in steps (for example 25, 50, 100) instead of at once; each holds for its duration and may validate.</summary>
    /// <value>The default value is empty (switch at once).</value>
    public IReadOnlyList<TrafficSwitchStep> TrafficSteps { get; init; } = [];

    /// <summary>How long blue keeps running after the switch (Argo Rollouts recommends at least 30 s).</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan ScaleDownDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The component the analyses measure; <see langword="null"/> picks the first component with a port.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? AnalysisComponent { get; init; }

    /// <inheritdoc />
    public override IEnumerable<string> Validate(DeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        foreach (var problem in base.Validate(spec))
        {
            yield return problem;
        }

        if (PreviewReplicas is < 1)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"previewReplicas: {PreviewReplicas} must be at least 1 (or unset).");
        }

        if (!Enum.IsDefined(Promotion))
        {
            yield return $"promotion: '{Promotion}' is not a promotion mode.";
        }

        if (Promotion == BlueGreenPromotion.AutomaticAfterDelay && AutoPromotionDelay <= TimeSpan.Zero)
        {
            yield return "autoPromotionDelay: must be greater than zero.";
        }

        if (ScaleDownDelay < TimeSpan.Zero)
        {
            yield return "scaleDownDelay: must not be negative.";
        }

        foreach (var problem in DeploymentSpec.CheckDurations(("autoPromotionDelay", AutoPromotionDelay), ("scaleDownDelay", ScaleDownDelay)))
        {
            yield return problem;
        }

        foreach (var problem in PrePromotionAnalysis?.Validate("prePromotionAnalysis") ?? [])
        {
            yield return problem;
        }

        foreach (var problem in PostPromotionAnalysis?.Validate("postPromotionAnalysis") ?? [])
        {
            yield return problem;
        }

        var last = 0;
        for (var i = 0; i < (TrafficSteps?.Count ?? 0); i++)
        {
            var step = TrafficSteps![i];
            var at = string.Create(CultureInfo.InvariantCulture, $"trafficSteps[{i}]");
            if (step is null)
            {
                yield return $"{at}: is null.";
                continue;
            }

            if (step.Weight <= last || step.Weight > 100)
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"{at}.weight: {step.Weight} must be above the step before ({last}) and at most 100.");
            }

            last = step.Weight;
            if (step.Duration < TimeSpan.Zero)
            {
                yield return $"{at}.duration: must not be negative.";
            }
            else if (DeploymentSpec.CheckDuration(at + ".duration", step.Duration) is { } tooLong)
            {
                yield return tooLong;
            }

            foreach (var problem in step.Analysis?.Validate(at + ".analysis") ?? [])
            {
                yield return problem;
            }
        }

        if (AnalysisComponent is not null && !spec.Components.Any(c => string.Equals(c.Id, AnalysisComponent, StringComparison.Ordinal)))
        {
            yield return $"analysisComponent: '{AnalysisComponent}' is not a component of the deployment.";
        }
    }
}

/// <summary>How a blue-green rollout is promoted.</summary>
public enum BlueGreenPromotion
{
    /// <summary>As soon as green is ready and the pre-promotion analysis passed.</summary>
    Automatic = 0,

    /// <summary>After <see cref="BlueGreenStrategySpec.AutoPromotionDelay"/> (or earlier when promoted).</summary>
    AutomaticAfterDelay,

    /// <summary>Only when a person promotes.</summary>
    Manual,
}

/// <summary>One step of a gradual blue-green switch.</summary>
/// <param name="Weight">The share of traffic green gets, 1–100.</param>
public sealed record TrafficSwitchStep(int Weight)
{
    /// <summary>How long to hold the weight.</summary>
    /// <value>The default value is zero.</value>
    public TimeSpan Duration { get; init; } = TimeSpan.Zero;

    /// <summary>A validation run at this weight; a failure switches back to blue.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public AnalysisSpec? Analysis { get; init; }
}
