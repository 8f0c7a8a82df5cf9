namespace Bpi.Orchestration;

/// <summary>
/// How a new revision replaces the running one. Core ships <see cref="RecreateStrategySpec"/>; the Strategies
/// package adds rolling, blue-green and canary. Each spec is planned by the <see cref="Rollout.IRolloutStrategy"/>
/// registered for its <see cref="Name"/>.
/// </summary>
public abstract record StrategySpec
{
    /// <summary>The strategy's name, lowercase, for example <c>recreate</c> or <c>canary</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Checks the strategy's own settings; returns every problem, each prefixed with the field name.</summary>
    /// <param name="spec">The deployment the strategy belongs to.</param>
    /// <returns>Every problem found; empty when valid.</returns>
    public virtual IEnumerable<string> Validate(DeploymentSpec spec) => [];
}

/// <summary>Stop every old instance, then start the new revision: simple, with downtime. Ships in Core.</summary>
public sealed record RecreateStrategySpec : StrategySpec
{
    /// <summary>The strategy name, <c>recreate</c>.</summary>
    public const string StrategyName = "recreate";

    /// <inheritdoc />
    public override string Name => StrategyName;
}
