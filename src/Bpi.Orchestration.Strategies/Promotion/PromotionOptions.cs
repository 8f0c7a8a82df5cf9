using System.Globalization;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Strategies.Promotion;

/// <summary>The lifecycles releases are promoted through (set with <c>builder.AddPromotion(o => …)</c>).</summary>
public sealed class PromotionOptions
{
    /// <summary>The lifecycles, by name.</summary>
    /// <value>The default value is empty.</value>
    public IList<Lifecycle> Lifecycles { get; } = [];
}

/// <summary>
/// An ordered list of environments a release moves through (as Octopus lifecycles), for example dev → staging →
/// production. Each environment has its own gate (approvals), strategy override and automatic-or-manual deployment.
/// </summary>
public sealed record Lifecycle
{
    /// <summary>The lifecycle's name.</summary>
    public required string Name { get; init; }

    /// <summary>The environments, in promotion order.</summary>
    public required IReadOnlyList<EnvironmentStage> Environments { get; init; }

    internal IEnumerable<string> Validate(string at)
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            yield return $"{at}.{nameof(Name)}: empty; name the lifecycle.";
        }

        if (Environments is null || Environments.Count == 0)
        {
            yield return $"{at}.{nameof(Environments)}: empty; list at least one environment, in promotion order.";
            yield break;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Environments.Count; i++)
        {
            var stage = Environments[i];
            var where = string.Create(CultureInfo.InvariantCulture, $"{at}.{nameof(Environments)}[{i}]");
            if (stage is null || string.IsNullOrWhiteSpace(stage.Name))
            {
                yield return $"{where}.{nameof(EnvironmentStage.Name)}: empty; name the environment (a deployment spec's Environment).";
                continue;
            }

            if (!names.Add(stage.Name))
            {
                yield return $"{where}.{nameof(EnvironmentStage.Name)}: '{stage.Name}' appears twice; list each environment once.";
            }

            if (stage.RequiredApprovals < 0)
            {
                yield return $"{where}.{nameof(EnvironmentStage.RequiredApprovals)}: {stage.RequiredApprovals} is negative; use zero or more.";
            }
        }
    }
}

/// <summary>One environment of a lifecycle.</summary>
public sealed record EnvironmentStage
{
    /// <summary>The environment's name (the deployment spec's <see cref="DeploymentSpec.Environment"/>).</summary>
    public required string Name { get; init; }

    /// <summary>Whether a release is deployed here automatically once the previous environment succeeded (subject to this environment's gate).</summary>
    /// <value>The default value is <see langword="false"/> (someone promotes).</value>
    public bool AutomaticDeployment { get; init; }

    /// <summary>Whether a release must succeed here before it may go to a later environment (Octopus' "required to progress"); an optional environment can be skipped.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool RequiredToProgress { get; init; } = true;

    /// <summary>How many distinct people must approve a promotion into this environment before it deploys (0: no gate).</summary>
    /// <value>The default value is 0.</value>
    public int RequiredApprovals { get; init; }

    /// <summary>Whether whoever requested the promotion may not approve it.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ApproverMustDifferFromRequester { get; init; }

    /// <summary>The strategy (with its validation: analyses, gates) used in this environment; <see langword="null"/> keeps the release's.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public StrategySpec? Strategy { get; init; }
}

/// <summary>Lists every problem of the promotion options.</summary>
internal sealed class PromotionOptionsValidator : IValidateOptions<PromotionOptions>
{
    public ValidateOptionsResult Validate(string? name, PromotionOptions options)
    {
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Lifecycles.Count; i++)
        {
            var at = string.Create(CultureInfo.InvariantCulture, $"{nameof(PromotionOptions)}.{nameof(PromotionOptions.Lifecycles)}[{i}]");
            errors.AddRange(options.Lifecycles[i].Validate(at));
            if (!string.IsNullOrEmpty(options.Lifecycles[i].Name) && !names.Add(options.Lifecycles[i].Name))
            {
                errors.Add($"{at}.Name: '{options.Lifecycles[i].Name}' is used twice; give each lifecycle its own name.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
