using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Docker runtime (DockLock hardened containers) with the orchestrator.</summary>
public static class DockerOrchestrationBuilderExtensions
{
    /// <summary>
    /// Runs workloads as DockLock-hardened containers on a Docker Engine: registers <see cref="IDockerWorkloadRuntime"/>
    /// and makes it the <see cref="IWorkloadRuntime"/> and the <see cref="IWorkloadInspector"/> (replacing any registered
    /// before) and the <see cref="IDockerImageImporter"/>, publishes the DockLock defaults of its options as the
    /// host's <see cref="DockLockDefaults"/> (which the Security package's assessment follows), and validates
    /// <see cref="DockerRuntimeOptions"/> when the runtime is first resolved, listing every problem. The runtime is an
    /// <see cref="IWorkloadCommandRunner"/>, so the exec health probe (<c>.AddHealthProbes()</c> of the Strategies
    /// package) runs <see cref="Bpi.Orchestration.HealthCheckKind.Exec"/> checks inside the containers.
    /// </summary>
    /// <param name="builder">The orchestrator's builder.</param>
    /// <param name="configure">Configures the options; <see langword="null"/> keeps the defaults (engine from <c>DOCKER_HOST</c> or the default unix socket).</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <remarks>
    /// Uses the <see cref="TimeProvider"/>, <see cref="ILoggerFactory"/> and <see cref="IAuditSink"/> registered in the
    /// container when there are (<see cref="TimeProvider.System"/>, no logging and no audit otherwise). Relaxations of
    /// DockLock defaults are appended to the <see cref="IAuditSink"/>.
    /// </remarks>
    public static IOrchestrationBuilder AddDocker(this IOrchestrationBuilder builder, Action<DockerRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddValidatedOptions<DockerRuntimeOptions, DockerRuntimeOptionsValidator>(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static provider =>
        {
            var runtimeOptions = GetValidatedOptions(provider);
            var loggerFactory = provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            return new DockerEngine(
                DockerEngineOptions.From(runtimeOptions),
                provider.GetRequiredService<TimeProvider>(),
                loggerFactory.CreateLogger("Bpi.Orchestration.Components.Docker.Engine"));
        });
        services.TryAddSingleton<IDockerWorkloadRuntime>(static provider =>
        {
            var loggerFactory = provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            return new DockerWorkloadRuntime(
                provider.GetRequiredService<DockerEngine>(),
                GetValidatedOptions(provider),
                provider.GetRequiredService<TimeProvider>(),
                loggerFactory.CreateLogger("Bpi.Orchestration.Components.Docker"),
                provider.GetService<IAuditSink>())
            {
                // The orchestrator's breakers (AddOrchestration registers them): the events stream's reconnections respect runtime:docker's.
                Breakers = provider.GetService<Bpi.Orchestration.Resilience.CircuitBreakers>(),
            };
        });
        services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(static provider => provider.GetRequiredService<IDockerWorkloadRuntime>()));
        services.Replace(ServiceDescriptor.Singleton<IWorkloadInspector>(static provider => provider.GetRequiredService<IDockerWorkloadRuntime>()));
        services.TryAddSingleton<IDockerImageImporter>(static provider => provider.GetRequiredService<IDockerWorkloadRuntime>());

        // The runtime owns the DockLock defaults (they are what its containers get): it publishes them, and whoever
        // assesses specs (the Security package) reads them from here instead of being configured a second time.
        services.Replace(ServiceDescriptor.Singleton<DockLockDefaults>(static provider => GetValidatedOptions(provider).ToDockLockDefaults()));
        return builder;
    }

    private static DockerRuntimeOptions GetValidatedOptions(IServiceProvider provider)
        => provider.GetRequiredService<IOptions<DockerRuntimeOptions>>().Value;
}
