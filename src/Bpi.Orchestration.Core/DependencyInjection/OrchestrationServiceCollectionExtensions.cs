using Bpi.Orchestration;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Health;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Rollout.Recreate;
using Bpi.Orchestration.Rollout.Steps;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the orchestrator.</summary>
public static class OrchestrationServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IOrchestrationVm"/> with Core's defaults: the recreate strategy, the in-memory deployment
    /// store and audit sink, an allow-all authorizer, <see cref="TimeProvider.System"/>, and an <see cref="IHostedService"/>
    /// that starts and stops the orchestrator with a generic host. Add a runtime (and more) through the returned builder.
    /// Options are validated when a generic host starts and when the orchestrator is first resolved, every problem listed.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="OrchestrationOptions"/>.</param>
    /// <returns>A builder other packages extend.</returns>
    public static IOrchestrationBuilder AddOrchestration(this IServiceCollection services, Action<OrchestrationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddValidatedOptions<OrchestrationOptions, OrchestrationOptionsValidator>(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IDeploymentStore, InMemoryDeploymentStore>();
        services.TryAddSingleton<Bpi.Orchestration.Ownership.IDeploymentOwnership>(Bpi.Orchestration.Ownership.SingleInstanceOwnership.Instance);
        services.TryAddSingleton<IAuditSink>(_ => new InMemoryAuditSink());
        services.TryAddSingleton<IOrchestrationAuthorizer, AllowAllAuthorizer>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStrategy, RecreateStrategy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, ScaleRevisionHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, AwaitReadyHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, SetTrafficHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, RemoveInstancesHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, PauseHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, AwaitApprovalHandler>());
        services.TryAddSingleton(sp => new Bpi.Orchestration.Resilience.CircuitBreakers(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<OrchestrationOptions>>().Value.CircuitBreaking,
            sp.GetRequiredService<TimeProvider>(),
            (Microsoft.Extensions.Logging.ILogger?)sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()?.CreateLogger("Bpi.Orchestration") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        services.TryAddSingleton<IOrchestrationVm>(sp => ActivatorUtilities.CreateInstance<OrchestrationVm>(sp));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OrchestrationHostedService>());
        return new OrchestrationBuilder(services);
    }

    private sealed class OrchestrationBuilder(IServiceCollection services) : IOrchestrationBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}

/// <summary>Extension methods on <see cref="IOrchestrationBuilder"/> to plug in runtimes, routers, probes, strategies and step handlers.</summary>
public static class OrchestrationBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="Bpi.Orchestration.Backup.IOrchestrationBackup"/> over the deployment store (<see cref="Bpi.Orchestration.Backup.DeploymentStoreBackupPart"/>)
    /// and every other <see cref="Bpi.Orchestration.Backup.IBackupPart"/> registered (the Audit package's <c>AddFileAuditStore</c> adds the
    /// audit store's). A restore replaces the stores under the orchestrator: restore before the orchestrator (and the
    /// audit store) is first resolved, as the CLI does.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">
    /// Sets the key that signs backups and the keys a restore trusts (<see cref="Bpi.Orchestration.Backup.OrchestrationBackupOptions"/>);
    /// a signer is required unless unsigned backups are allowed explicitly (validated when the host starts).
    /// </param>
    /// <returns>The builder, for chaining.</returns>
    public static IOrchestrationBuilder AddBackup(this IOrchestrationBuilder builder, Action<Bpi.Orchestration.Backup.OrchestrationBackupOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddValidatedOptions<Bpi.Orchestration.Backup.OrchestrationBackupOptions, Bpi.Orchestration.Backup.OrchestrationBackupOptionsValidator>(configure);
        builder.Services.TryAddSingleton<Bpi.Orchestration.Backup.IOrchestrationBackup>(sp =>
        {
            var store = sp.GetRequiredService<IDeploymentStore>();
            return new Bpi.Orchestration.Backup.OrchestrationBackup(
                [new Bpi.Orchestration.Backup.DeploymentStoreBackupPart(store), .. sp.GetServices<Bpi.Orchestration.Backup.IBackupPart>()],
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<Bpi.Orchestration.Backup.OrchestrationBackupOptions>>().Value,
                store,
                sp.GetService<IWorkloadRuntime>(),
                sp.GetService<Microsoft.Extensions.Logging.ILogger<Bpi.Orchestration.Backup.OrchestrationBackup>>());
        });
        return builder;
    }

    /// <summary>Uses <typeparamref name="TRuntime"/> as the workload runtime, replacing any runtime registered before.</summary>
    /// <typeparam name="TRuntime">The runtime type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder UseRuntime<TRuntime>(this IOrchestrationBuilder builder)
        where TRuntime : class, IWorkloadRuntime
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TRuntime>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp => sp.GetRequiredService<TRuntime>()));
        return builder;
    }

    /// <summary>Uses <typeparamref name="TRouter"/> as the traffic router, replacing any router registered before.</summary>
    /// <typeparam name="TRouter">The router type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder UseTrafficRouter<TRouter>(this IOrchestrationBuilder builder)
        where TRouter : class, ITrafficRouter
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<TRouter>();
        builder.Services.Replace(ServiceDescriptor.Singleton<ITrafficRouter>(sp => sp.GetRequiredService<TRouter>()));
        return builder;
    }

    /// <summary>Adds a health probe (one per <see cref="HealthCheckKind"/>; the first that can probe a kind is used).</summary>
    /// <typeparam name="TProbe">The probe type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddHealthProbe<TProbe>(this IOrchestrationBuilder builder)
        where TProbe : class, IHealthProbe
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthProbe, TProbe>());
        return builder;
    }

    /// <summary>Adds a rollout strategy; a strategy with the same <see cref="IRolloutStrategy.Name"/> registered later wins.</summary>
    /// <typeparam name="TStrategy">The strategy type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddStrategy<TStrategy>(this IOrchestrationBuilder builder)
        where TStrategy : class, IRolloutStrategy
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStrategy, TStrategy>());
        return builder;
    }

    /// <summary>
    /// Adds the handler of a step type no other handler executes. A second handler for the same step type is an error
    /// when the orchestrator is constructed; to take over a step type, use <see cref="ReplaceStepHandler{TStep, THandler}"/>.
    /// </summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddStepHandler<THandler>(this IOrchestrationBuilder builder)
        where THandler : class, IRolloutStepHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, THandler>());
        return builder;
    }

    /// <summary>
    /// Makes <typeparamref name="THandler"/> the handler of <typeparamref name="TStep"/>, in place of the one registered
    /// with <see cref="AddStepHandler{THandler}"/> (a built-in one, for example). Order does not matter; two replacements
    /// of one step type are an error when the orchestrator is constructed, as is a handler that executes another step type.
    /// </summary>
    /// <typeparam name="TStep">The step type taken over.</typeparam>
    /// <typeparam name="THandler">The handler; it is also resolvable as itself.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder ReplaceStepHandler<TStep, THandler>(this IOrchestrationBuilder builder)
        where TStep : RolloutStep
        where THandler : class, IRolloutStepHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<THandler>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IRolloutStepHandler, StepHandlerReplacement<TStep, THandler>>());
        return builder;
    }

    /// <summary>Uses <paramref name="store"/> as the deployment store.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="store">The store.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder UseDeploymentStore(this IOrchestrationBuilder builder, IDeploymentStore store)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(store);
        builder.Services.Replace(ServiceDescriptor.Singleton(store));
        return builder;
    }

    /// <summary>Uses <paramref name="sink"/> as the audit sink.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="sink">The sink.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder UseAuditSink(this IOrchestrationBuilder builder, IAuditSink sink)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(sink);
        builder.Services.Replace(ServiceDescriptor.Singleton(sink));
        return builder;
    }

    /// <summary>Uses <paramref name="timeProvider"/> for every clock, delay and timeout (tests pass a manual clock).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder UseTimeProvider(this IOrchestrationBuilder builder, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(timeProvider);
        builder.Services.Replace(ServiceDescriptor.Singleton(timeProvider));
        return builder;
    }
}

/// <summary>Core's default authorizer: allows everything. The Security package replaces it.</summary>
internal sealed class AllowAllAuthorizer : IOrchestrationAuthorizer
{
    public ValueTask<AuthorizationDecision> AuthorizeAsync(AuthorizationRequest request, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(AuthorizationDecision.AllowAll);
}

/// <summary>Starts and stops the orchestrator with a generic host; on stop it runs <see cref="OrchestrationOptions.OnHostStop"/>.</summary>
internal sealed class OrchestrationHostedService(IOrchestrationVm vm) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => vm.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken)
        => vm is OrchestrationVm orchestrator ? orchestrator.StopForHostAsync(cancellationToken) : vm.StopAsync(cancellationToken);
}
