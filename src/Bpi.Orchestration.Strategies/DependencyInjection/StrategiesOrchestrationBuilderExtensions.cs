using System.Diagnostics.Metrics;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Approvals;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Health;
using Bpi.Orchestration.Strategies.Hooks;
using Bpi.Orchestration.Strategies.Promotion;
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
        return builder.AddRollingStrategy().AddCanaryStrategy().AddBlueGreenStrategy().AddHealthProbes();
    }

    /// <summary>Adds the blue-green strategy (<c>blue-green</c>) and its preview-route step.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddBlueGreenStrategy(this IOrchestrationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCommon(builder);
        builder.AddStrategy<BlueGreenStrategy>();
        builder.AddStepHandler<PreviewRouteHandler>();
        return builder;
    }

    /// <summary>Adds the HTTP, TCP, exec and gRPC health probes.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddHealthProbes(this IOrchestrationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCommon(builder);
        return builder.AddHealthProbe<HttpHealthProbe>().AddHealthProbe<TcpHealthProbe>().AddHealthProbe<ExecHealthProbe>().AddHealthProbe<GrpcHealthProbe>();
    }

    /// <summary>Adds the canary strategy (<c>canary</c>) with analysis, approval gates and the built-in metric provider.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddCanaryStrategy(this IOrchestrationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCommon(builder);
        builder.AddStrategy<CanaryStrategy>();
        return builder;
    }

    /// <summary>Adds a metric provider; providers registered later are asked first.</summary>
    /// <typeparam name="TProvider">The provider type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddMetricProvider<TProvider>(this IOrchestrationBuilder builder)
        where TProvider : class, IMetricProvider
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IMetricProvider, TProvider>());
        return builder;
    }

    /// <summary>Uses <typeparamref name="TSender"/> to send the requests of built-in probe metrics and the judge (tests use a simulated one).</summary>
    /// <typeparam name="TSender">The sender type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder UseRequestSender<TSender>(this IOrchestrationBuilder builder)
        where TSender : class, IInstanceRequestSender
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TSender>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IInstanceRequestSender>(sp => sp.GetRequiredService<TSender>()));
        return builder;
    }

    /// <summary>Adds a notifier told when an approval gate escalates with <see cref="GateEscalation.NotifyAndWait"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="notifier">The notifier.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddGateNotifier(this IOrchestrationBuilder builder, IGateNotifier notifier)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(notifier);
        builder.Services.AddSingleton(notifier);
        return builder;
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

    /// <summary>Adds <see cref="IPromotionService"/>: promotion of releases through the environments of configured lifecycles.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Adds lifecycles to <see cref="PromotionOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddPromotion(this IOrchestrationBuilder builder, Action<PromotionOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddValidatedOptions<PromotionOptions, PromotionOptionsValidator>(configure);
        builder.Services.TryAddSingleton<IPromotionService, PromotionService>();
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

    /// <summary>
    /// Makes <typeparamref name="TSender"/> the default request sender in place of real HTTP: for a runtime whose
    /// instances HTTP cannot reach (the Testing package's in-memory runtime calls this so analyses measure its simulated
    /// services). A sender the host chose with <see cref="UseRequestSender{TSender}"/> still wins, whatever the order
    /// of the calls.
    /// </summary>
    /// <typeparam name="TSender">The sender type; registered as a singleton unless it already is.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder UseDefaultRequestSender<TSender>(this IOrchestrationBuilder builder)
        where TSender : class, IInstanceRequestSender
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TSender>();
        builder.Services.Replace(ServiceDescriptor.Singleton(new DefaultRequestSenderChoice(typeof(TSender))));
        return builder;
    }

    /// <summary>The default sender, used unless the host chose one: the one a runtime asked for, else real HTTP GETs.</summary>
    private static ServiceDescriptor DefaultRequestSender { get; } = ServiceDescriptor.Singleton<IInstanceRequestSender>(
        sp => sp.GetService<DefaultRequestSenderChoice>() is { } choice
            ? (IInstanceRequestSender)sp.GetRequiredService(choice.SenderType)
            : new HttpInstanceRequestSender(sp.GetRequiredService<StrategiesHttp>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));

    private sealed record DefaultRequestSenderChoice(Type SenderType);

    private static void AddCommon(IOrchestrationBuilder builder)
    {
        StrategySpecNames.Register();
        var services = builder.Services;
        services.TryAddSingleton(sp => new StrategiesHttp(sp.GetService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, BalanceTrafficHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, RunHookHandler>());
        builder.ReplaceStepHandler<PauseStep, GuardedPauseHandler>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, AnalysisHandler>());
        builder.ReplaceStepHandler<AwaitApprovalStep, ApprovalGateHandler>();
        services.TryAddSingleton(sp => new StrategiesTelemetry(sp.GetService<IMeterFactory>()));
        services.TryAdd(DefaultRequestSender);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMetricProvider, BuiltInMetricProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMetricProvider, PrometheusMetricProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IMetricProvider, JsonMetricProvider>());
        services.TryAddSingleton<AnalysisRunner>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Bpi.Orchestration.Autoscaling.IAutoscalingMetricSource, MetricProviderAutoscalingSource>());
    }
}
