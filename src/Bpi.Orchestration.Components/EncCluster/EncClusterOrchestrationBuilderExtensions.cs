using Bpi.Orchestration;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.EncCluster;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the EncCluster component manager.</summary>
public static class EncClusterOrchestrationBuilderExtensions
{
    /// <summary>
    /// Adds the EncCluster component manager, which deployments of type <see cref="Bpi.Orchestration.DeploymentType.EncCluster"/>
    /// select: it decorates the workload runtime registered so far (call it after <c>AddProcessRuntime()</c>) so that each
    /// member sits behind a mutual-TLS 1.3 proxy (TLS_AES_256_GCM_SHA384 only) with certificates from a CA the orchestrator
    /// keeps, rotated every <see cref="Bpi.Orchestration.EncClusterSpec.KeyRotationInterval"/>. Resolve
    /// <see cref="IEncClusterManager"/> to rotate on demand or read the members and certificates.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets <see cref="EncClusterOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">No workload runtime is registered yet.</exception>
    public static IOrchestrationBuilder AddEncCluster(this IOrchestrationBuilder builder, Action<EncClusterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var inner = services.LastOrDefault(d => d.ServiceType == typeof(IWorkloadRuntime))
            ?? throw new InvalidOperationException("AddEncCluster() decorates the workload runtime, and none is registered yet; call AddProcessRuntime() first.");
        services.AddValidatedOptions<EncClusterOptions, EncClusterOptionsValidator>(configure);
        services.TryAddSingleton(sp => new EncClusterManager(
            ValidatedOptions.Ensure(sp.GetRequiredService<IOptions<EncClusterOptions>>().Value, new EncClusterOptionsValidator()),
            sp.GetService<TimeProvider>(),
            sp.GetService<IAuditSink>(),
            sp.GetService<ISecretSealer>(),
            () => (sp.GetService<IWorkloadRuntime>() as EncClusterWorkloadRuntime)?.Inner.Name ?? sp.GetService<IWorkloadRuntime>()?.Name,
            sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton<IEncClusterManager>(sp => sp.GetRequiredService<EncClusterManager>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IComponentManager, EncClusterManager>(sp => sp.GetRequiredService<EncClusterManager>()));
        services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp =>
        {
            var manager = sp.GetRequiredService<EncClusterManager>();
            var runtime = EncClusterWorkloadRuntime.Create(Resolve(sp, inner), manager);
            manager.Members = runtime.Members;
            return runtime;
        }));
        return builder;
    }

    private static IWorkloadRuntime Resolve(IServiceProvider provider, ServiceDescriptor descriptor)
        => descriptor.ImplementationInstance as IWorkloadRuntime
            ?? descriptor.ImplementationFactory?.Invoke(provider) as IWorkloadRuntime
            ?? (IWorkloadRuntime)ActivatorUtilities.CreateInstance(provider, descriptor.ImplementationType!);
}
