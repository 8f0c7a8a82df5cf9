using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Kubernetes;
using Bpi.Orchestration.Kubernetes.Runtime;
using Bpi.Orchestration.Kubernetes.Traffic;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using k8s;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Kubernetes runtime (revisions as Deployments) and, with a Gateway, the Gateway API traffic router.</summary>
public static class KubernetesOrchestrationBuilderExtensions
{
    /// <summary>
    /// Runs workloads on Kubernetes through the official client: makes the Kubernetes runtime the
    /// <see cref="IWorkloadRuntime"/> and the <see cref="IWorkloadInspector"/> (replacing any registered before), and — when
    /// <see cref="KubernetesRuntimeOptions.GatewayParentRef"/> is set — the Gateway API router the
    /// <see cref="ITrafficRouter"/>. Validates <see cref="KubernetesRuntimeOptions"/> at host start and when the runtime is
    /// first resolved, listing every problem.
    /// </summary>
    /// <param name="builder">The orchestrator's builder.</param>
    /// <param name="configure">Configures the options; <see langword="null"/> keeps the defaults (kubeconfig from <c>KUBECONFIG</c> or <c>~/.kube/config</c>, namespace <c>bpi-{environment}</c>, no Gateway).</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <remarks>
    /// Uses the <see cref="TimeProvider"/>, <see cref="ILoggerFactory"/> and <see cref="IAuditSink"/> registered in the
    /// container when there are. Relaxations of DockLock defaults are appended to the <see cref="IAuditSink"/>.
    /// </remarks>
    public static IOrchestrationBuilder AddKubernetes(this IOrchestrationBuilder builder, Action<KubernetesRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddValidatedOptions<KubernetesRuntimeOptions, KubernetesRuntimeOptionsValidator>(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static provider =>
        {
            var options = GetValidatedOptions(provider);
            var loggerFactory = provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            var logger = loggerFactory.CreateLogger("Bpi.Orchestration.Kubernetes");
            var api = new KubernetesApi(CreateClient(options), options, provider.GetRequiredService<TimeProvider>(), logger, ownsClient: true);
            return new KubernetesWorkloadRuntime(api, options, provider.GetRequiredService<TimeProvider>(), logger, provider.GetService<IAuditSink>());
        });
        services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(static provider => provider.GetRequiredService<KubernetesWorkloadRuntime>()));
        services.Replace(ServiceDescriptor.Singleton<IWorkloadInspector>(static provider => provider.GetRequiredService<KubernetesWorkloadRuntime>()));

        // The router is registered only with a Gateway: without one, no router means the strategies approximate weights
        // by replica ratio behind the stable Service and the deployment's status says so.
        var probe = new KubernetesRuntimeOptions();
        configure?.Invoke(probe);
        if (probe.GatewayParentRef is not null)
        {
            services.Replace(ServiceDescriptor.Singleton<ITrafficRouter>(static provider => new GatewayTrafficRouter(
                provider.GetRequiredService<KubernetesWorkloadRuntime>(),
                (provider.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("Bpi.Orchestration.Kubernetes"))));
        }

        return builder;
    }

    private static k8s.Kubernetes CreateClient(KubernetesRuntimeOptions options)
    {
        try
        {
            var configuration = options.InCluster
                ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildConfigFromConfigFile(options.KubeconfigPath, options.Context);
            return new k8s.Kubernetes(configuration) { HttpClient = { Timeout = Timeout.InfiniteTimeSpan } };
        }
        catch (Exception ex) when (ex is k8s.Exceptions.KubeConfigException or IOException or UnauthorizedAccessException)
        {
            throw new Bpi.Orchestration.OrchestrationException(
                Bpi.Orchestration.OrchestrationErrorKind.InvalidConfiguration,
                $"The Kubernetes client could not be configured ({(options.InCluster ? "in-cluster" : options.KubeconfigPath ?? "default kubeconfig")}{(options.Context is null ? "" : ", context " + options.Context)}): {ex.Message}. Check KubeconfigPath and Context, or set InCluster inside a pod.",
                ex);
        }
    }

    private static KubernetesRuntimeOptions GetValidatedOptions(IServiceProvider provider)
        => provider.GetRequiredService<IOptions<KubernetesRuntimeOptions>>().Value;
}
