using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Hooks;
using Bpi.Orchestration.Strategies.Rolling;
using Bpi.Orchestration.Strategies.Telemetry;
using Bpi.Orchestration.Strategies.Traffic;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Strategies package on the orchestration builder.</summary>
public static class StrategiesOrchestrationBuilderExtensions
{
    /// <summary>Adds everything in the package: rolling, blue-green and canary strategies, their steps, health probes, metric providers, hooks and approval gates.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddStrategies(this IOrchestrationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddRollingStrategy();
    }

    /// <summary>Adds the rolling strategy (<c>rolling</c>) and the steps it uses.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddRollingStrategy(this IOrchestrationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCommon(builder);
        builder.AddStrategy<RollingStrategy>();
        return builder;
    }

    /// <summary>Registers a delegate hook under a name, for <see cref="HookSpec"/>s without a URL.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The hook's name.</param>
    /// <param name="hook">The hook.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddRolloutHook(this IOrchestrationBuilder builder, string name, RolloutHook hook)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(hook);
        builder.Services.AddSingleton(new NamedRolloutHook(name, hook));
        return builder;
    }

    private static void AddCommon(IOrchestrationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(sp => new StrategiesHttp(sp.GetService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, BalanceTrafficHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, RunHookHandler>());
    }
}
