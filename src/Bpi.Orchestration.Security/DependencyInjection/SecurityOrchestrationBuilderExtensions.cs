using System.Diagnostics.Metrics;
using Bpi.Orchestration;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Authorization;
using Bpi.Orchestration.Security.Compliance;
using Bpi.Orchestration.Security.Gate;
using Bpi.Orchestration.Security.Images;
using Bpi.Orchestration.Security.Monitoring;
using Bpi.Orchestration.Security.Remediation;
using Bpi.Orchestration.Security.Runtime;
using Bpi.Orchestration.Security.Secrets;
using Bpi.Orchestration.Security.Telemetry;
using Bpi.Orchestration.State;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Security package to the orchestrator.</summary>
public static class SecurityOrchestrationBuilderExtensions
{
    /// <summary>
    /// Adds security: the <see cref="SecurityGate"/> as the orchestrator's <see cref="ISecurityGate"/>, the policy authorizer
    /// as its <see cref="IOrchestrationAuthorizer"/> (default deny: configure rules with <see cref="ConfigureAuthorization"/>),
    /// the <see cref="SecurityAssessor"/>, the <see cref="ISecurityMonitor"/> (a hosted service re-assessing running
    /// deployments), the <see cref="ComplianceCatalog"/> and the <see cref="SecurityRemediator"/>. Options are validated
    /// when the orchestrator is first resolved (and at host start), with every problem listed.
    /// </summary>
    /// <param name="builder">The orchestration builder.</param>
    /// <param name="configure">Sets <see cref="SecurityOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddSecurity(this IOrchestrationBuilder builder, Action<SecurityOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddValidatedOptions<SecurityOptions, SecurityOptionsValidator>(configure);

        // One owner for the DockLock defaults: the runtime that applies them publishes a DockLockDefaults service (the
        // Docker runtime's AddDocker does); the assessment then judges specs by exactly those, whatever was set here.
        services.AddOptions<SecurityOptions>().PostConfigure<IServiceProvider>(static (options, provider) =>
        {
            if (provider.GetService<DockLockDefaults>() is { } applied)
            {
                options.DockLock.PublishAddress = applied.PublishAddress;
                options.DockLock.NonRootUser = applied.NonRootUser;
                options.DockLock.DefaultPidsLimit = applied.DefaultPidsLimit;
                options.DockLock.DefaultRestartPolicy = applied.DefaultRestartPolicy;
            }
        });
        services.AddValidatedOptions<AuthorizationOptions, AuthorizationOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SecurityConfiguration>();
        services.TryAddSingleton<SecurityEventHub>();
        services.TryAddSingleton(sp => new SecurityTelemetry(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton(sp => sp.GetRequiredService<SecurityConfiguration>().Compliance);
        services.TryAddSingleton(sp =>
        {
            var configuration = sp.GetRequiredService<SecurityConfiguration>();
            return new SecurityAssessor(Options.Options.Create(configuration.Security), sp.GetRequiredService<TimeProvider>(), sp.GetService<IImageSignatureSource>());
        });
        services.TryAddSingleton(sp => new SecurityGate(
            sp.GetRequiredService<SecurityAssessor>(),
            sp.GetRequiredService<SecurityEventHub>(),
            sp.GetRequiredService<SecurityTelemetry>(),
            sp.GetRequiredService<ComplianceCatalog>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger("Bpi.Orchestration.Security")));
        services.Replace(ServiceDescriptor.Singleton<ISecurityGate>(sp => sp.GetRequiredService<SecurityGate>()));
        services.Replace(ServiceDescriptor.Singleton<IOrchestrationAuthorizer>(sp => new PolicyAuthorizer(
            sp.GetRequiredService<SecurityConfiguration>().Authorization,
            sp.GetRequiredService<SecurityAssessor>(),
            sp.GetRequiredService<SecurityTelemetry>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IDeploymentStore>(),
            sp.GetService<IAuditSink>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger("Bpi.Orchestration.Security"))));
        services.TryAddSingleton(sp => new SecurityMonitor(
            sp.GetRequiredService<SecurityAssessor>(),
            sp.GetRequiredService<IDeploymentStore>(),
            sp.GetRequiredService<SecurityEventHub>(),
            sp.GetRequiredService<SecurityTelemetry>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IContainerInspector>(),
            sp.GetService<IAuditSink>(),
            sp.GetRequiredService<ComplianceCatalog>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger("Bpi.Orchestration.Security")));
        services.TryAddSingleton<ISecurityMonitor>(sp => sp.GetRequiredService<SecurityMonitor>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SecurityMonitor>(sp => sp.GetRequiredService<SecurityMonitor>()));
        services.TryAddSingleton(sp => new SecurityRemediator(sp.GetRequiredService<SecurityAssessor>()));
        return builder;
    }

    /// <summary>Sets the authorization policy (rules from code, text or JSON). Without any rule every operation is denied.</summary>
    /// <param name="builder">The orchestration builder.</param>
    /// <param name="configure">Sets <see cref="AuthorizationOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder ConfigureAuthorization(this IOrchestrationBuilder builder, Action<AuthorizationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<AuthorizationOptions>().Configure(configure);
        return builder;
    }

    /// <summary>
    /// Re-assesses running deployments from what actually runs — each container's <c>docker inspect</c> document, or each
    /// pod's Kubernetes object, as the runtime's <see cref="IWorkloadInspector"/> hands it out — instead of their specs. The
    /// runtime must be one (<c>AddDocker()</c> and <c>AddKubernetes()</c> register it); the Security package itself opens
    /// no connection to an engine.
    /// </summary>
    /// <param name="builder">The orchestration builder.</param>
    /// <returns>The builder.</returns>
    /// <remarks>Without an <see cref="IWorkloadInspector"/>, resolving the monitor fails with <see cref="OrchestrationErrorKind.InvalidConfiguration"/>.</remarks>
    public static IOrchestrationBuilder AddRuntimeInspection(this IOrchestrationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IContainerInspector>(sp => new WorkloadContainerInspector(
            sp.GetService<IWorkloadInspector>() ?? sp.GetService<IWorkloadRuntime>() as IWorkloadInspector
            ?? throw new OrchestrationException(
                OrchestrationErrorKind.InvalidConfiguration,
                $"AddRuntimeInspection() needs a runtime that can inspect its instances (IWorkloadInspector), and the registered one ('{sp.GetService<IWorkloadRuntime>()?.Name ?? "(none)"}') cannot; add the Docker runtime (AddDocker()) or the Kubernetes runtime (AddKubernetes()), or remove AddRuntimeInspection()."))));
        return builder;
    }

    /// <summary>Uses <paramref name="source"/> to find image signatures (check BPI-SEC-028).</summary>
    /// <param name="builder">The orchestration builder.</param>
    /// <param name="source">The signature source.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder UseImageSignatureSource(this IOrchestrationBuilder builder, IImageSignatureSource source)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(source);
        builder.Services.Replace(ServiceDescriptor.Singleton(source));
        return builder;
    }

    /// <summary>
    /// Keeps secret values encrypted at rest: decorates the <see cref="IDeploymentStore"/> registered so far with an
    /// <see cref="EncryptingDeploymentStore"/> (AES-256-GCM envelope encryption under the configured key ring). Call it after
    /// the store is chosen (for example after <c>UseDeploymentStore</c>).
    /// </summary>
    /// <param name="builder">The orchestration builder.</param>
    /// <param name="configure">Sets the keys.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddSecretProtection(this IOrchestrationBuilder builder, Action<SecretProtectionOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new SecretProtectionOptions();
        configure(options);
        var services = builder.Services;
        services.TryAddSingleton(_ => options.BuildKeyRing());
        services.TryAddSingleton(sp => new SecretProtector(sp.GetRequiredService<SecretKeyRing>()));
        services.TryAddSingleton<ISecretSealer>(sp => sp.GetRequiredService<SecretProtector>());
        var inner = services.LastOrDefault(d => d.ServiceType == typeof(IDeploymentStore))
            ?? throw new InvalidOperationException("No IDeploymentStore is registered yet; call AddSecretProtection after AddOrchestration (and after choosing the store).");
        services.Replace(ServiceDescriptor.Singleton<IDeploymentStore>(sp => new EncryptingDeploymentStore(Resolve(sp, inner), sp.GetRequiredService<SecretProtector>())));
        return builder;
    }

    private static IDeploymentStore Resolve(IServiceProvider provider, ServiceDescriptor descriptor)
        => descriptor.ImplementationInstance as IDeploymentStore
            ?? descriptor.ImplementationFactory?.Invoke(provider) as IDeploymentStore
            ?? (IDeploymentStore)ActivatorUtilities.CreateInstance(provider, descriptor.ImplementationType!);
}
