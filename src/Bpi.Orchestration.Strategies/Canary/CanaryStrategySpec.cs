using System.Globalization;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Strategies.Canary;

/// <summary>
/// A canary rollout: the new revision takes a growing share of traffic, step by step, with pauses, analyses and
/// approval gates between; at the end it takes all traffic and the stable revision is removed. Give explicit
/// <see cref="Steps"/> (as Argo Rollouts), or the shorthand <see cref="StepWeight"/>/<see cref="MaxWeight"/>/<see cref="Interval"/>
/// (as Flagger), which runs <see cref="Analysis"/> at every weight. With a traffic router the weights are exact and the
/// stable revision keeps all its instances; without one the weights are approximated by the replica ratio (the status
/// says so).
/// </summary>
public sealed record CanaryStrategySpec : ProgressiveStrategySpec
{
    /// <summary>The strategy name, <c>canary</c>.</summary>
    public const string StrategyName = "canary";

    /// <inheritdoc />
    public override string Name => StrategyName;

    /// <summary>The explicit steps; when empty, the shorthand is used.</summary>
    /// <value>The default value is empty.</value>
    public IReadOnlyList<CanaryStep> Steps { get; init; } = [];

    /// <summary>Shorthand: the weight added at each step.</summary>
    /// <value>The default value is <see langword="null"/> (use <see cref="Steps"/>).</value>
    public int? StepWeight { get; init; }

    /// <summary>Shorthand: the highest weight before promotion.</summary>
    /// <value>The default value is 50.</value>
    public int MaxWeight { get; init; } = 50;

    /// <summary>Shorthand: how long each weight is held (after its analysis).</summary>
    /// <value>The default value is 1 minute.</value>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Shorthand: the analysis run at every weight; <see langword="null"/> for none.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public AnalysisSpec? Analysis { get; init; }

    /// <summary>The component whose traffic the analyses measure; <see langword="null"/> picks the first component with a port.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? AnalysisComponent { get; init; }

    /// <summary>The steps the plan follows: <see cref="Steps"/>, or those the shorthand expands to.</summary>
    /// <returns>The steps.</returns>
    public IReadOnlyList<CanaryStep> EffectiveSteps()
    {
        if (Steps.Count > 0 || StepWeight is not { } stepWeight || stepWeight <= 0)
        {
            return Steps;
        }

        var steps = new List<CanaryStep>();
        for (var weight = Math.Min(stepWeight, MaxWeight); ; weight = Math.Min(weight + stepWeight, MaxWeight))
        {
            steps.Add(new CanaryStep.SetWeight(weight));
            if (Analysis is not null)
            {
                steps.Add(new CanaryStep.Analyze(Analysis));
            }

            steps.Add(new CanaryStep.Pause(Interval));
            if (weight >= MaxWeight)
            {
                break;
            }
        }

        return steps;
    }

    /// <inheritdoc />
    public override IEnumerable<string> Validate(DeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        foreach (var problem in base.Validate(spec))
        {
            yield return problem;
        }

        if (Steps is null)
        {
            yield return "steps: is required (use an empty list with the shorthand).";
            yield break;
        }

        if (Steps.Count > 0 && StepWeight is not null)
        {
            yield return "steps and stepWeight: give explicit steps or the shorthand, not both.";
        }

        if (StepWeight is { } w && (w < 1 || w > 100))
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"stepWeight: {w} must be 1-100.");
        }

        if (MaxWeight is < 1 or > 100)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"maxWeight: {MaxWeight} must be 1-100.");
        }

        if (StepWeight is not null && Interval < TimeSpan.Zero)
        {
            yield return "interval: must not be negative.";
        }

        if (DeploymentSpec.CheckDuration("interval", Interval) is { } tooLong)
        {
            yield return tooLong;
        }

        if (Analysis is not null)
        {
            foreach (var problem in Analysis.Validate("analysis"))
            {
                yield return problem;
            }
        }

        if (AnalysisComponent is not null && !spec.Components.Any(c => string.Equals(c.Id, AnalysisComponent, StringComparison.Ordinal)))
        {
            yield return $"analysisComponent: '{AnalysisComponent}' is not a component of the deployment.";
        }

        var last = 0;
        for (var i = 0; i < Steps.Count; i++)
        {
            var at = string.Create(CultureInfo.InvariantCulture, $"steps[{i}]");
            switch (Steps[i])
            {
                case null:
                    yield return $"{at}: is null.";
                    break;
                case CanaryStep.SetWeight set when set.Weight is < 0 or > 100:
                    yield return string.Create(CultureInfo.InvariantCulture, $"{at}.weight: {set.Weight} must be 0-100.");
                    break;
                case CanaryStep.SetWeight set:
                    if (set.Weight < last)
                    {
                        yield return string.Create(CultureInfo.InvariantCulture, $"{at}.weight: {set.Weight} is lower than the step before ({last}); weights only grow.");
                    }

                    last = set.Weight;
                    break;
                case CanaryStep.Pause { Duration: { } d } when d < TimeSpan.Zero:
                    yield return $"{at}.duration: must not be negative.";
                    break;
                case CanaryStep.Pause { Duration: { } d } when d > DeploymentSpec.MaxDuration:
                    yield return DeploymentSpec.DescribeTooLong(at + ".duration", d);
                    break;
                case CanaryStep.Analyze analyze:
                    foreach (var problem in analyze.Analysis?.Validate(at + ".analysis") ?? [$"{at}.analysis: is required."])
                    {
                        yield return problem;
                    }

                    break;
                case CanaryStep.Approval approval:
                    foreach (var problem in approval.Gate?.Validate(at + ".gate") ?? [$"{at}.gate: is required."])
                    {
                        yield return problem;
                    }

                    break;
            }
        }
    }
}

/// <summary>One step of a canary: set a weight, pause, analyse, or wait at an approval gate.</summary>
/// <remarks>Stored as JSON with a <c>$kind</c> of <c>setWeight</c>, <c>pause</c>, <c>analysis</c> or <c>approval</c>, so durable deployment stores read it back.</remarks>
[System.Text.Json.Serialization.JsonPolymorphic(TypeDiscriminatorPropertyName = "$kind")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(SetWeight), "setWeight")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(Pause), "pause")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(Analyze), "analysis")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(Approval), "approval")]
public abstract record CanaryStep
{
    private CanaryStep()
    {
    }

    /// <summary>Send <paramref name="Weight"/>% of traffic to the new revision.</summary>
    /// <param name="Weight">The weight, 0–100.</param>
    public sealed record SetWeight(int Weight) : CanaryStep;

    /// <summary>Pause for a duration, or until promoted when <paramref name="Duration"/> is <see langword="null"/>.</summary>
    /// <param name="Duration">How long.</param>
    public sealed record Pause(TimeSpan? Duration) : CanaryStep;

    /// <summary>Run an analysis; a failure rolls the canary back.</summary>
    /// <param name="Analysis">The analysis.</param>
    public sealed record Analyze(AnalysisSpec Analysis) : CanaryStep;

    /// <summary>Wait at an approval gate.</summary>
    /// <param name="Gate">The gate.</param>
    public sealed record Approval(ApprovalGate Gate) : CanaryStep;
}
