using Bpi.Orchestration.Strategies.Hooks;

namespace Bpi.Orchestration.Strategies;

/// <summary>What the rolling, blue-green and canary specs share: rollout hooks.</summary>
public abstract record ProgressiveStrategySpec : StrategySpec
{
    /// <summary>Hooks run before the rollout, after it, and when it is aborted or rolled back.</summary>
    /// <value>The default value is no hooks.</value>
    public RolloutHooks Hooks { get; init; } = new();

    /// <inheritdoc />
    public override IEnumerable<string> Validate(DeploymentSpec spec)
    {
        if (Hooks is null)
        {
            yield return "hooks: is required (use new RolloutHooks() for none).";
            yield break;
        }

        foreach (var problem in Hooks.Validate())
        {
            yield return problem;
        }
    }
}
