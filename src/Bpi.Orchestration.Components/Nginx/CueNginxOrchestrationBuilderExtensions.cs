using Bpi.Orchestration;
using Bpi.Orchestration.Nginx;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CueNginx, the traffic router on nginx (with HttpCage protection per service).</summary>
public static class CueNginxOrchestrationBuilderExtensions
{
    /// <summary>
    /// Uses CueNginx (<see cref="CueNginxRouter"/>; resolve it for service endpoints, <c>StartAsync</c> and <c>StopAsync</c>)
    /// as the traffic router, replacing any router registered before, and registers the component managers of the types
    /// it serves: <see cref="DeploymentType.CueNginx"/>, and <see cref="DeploymentType.HttpCage"/> (which needs
    /// <see cref="CueNginxOptions.DefaultService"/>'s <see cref="NginxServiceOptions.HttpCage"/> set). Its state directory defaults to
    /// <c>{temp}/bpi-orchestration/{VmId}/nginx</c>: set a stable <see cref="OrchestrationOptions.VmId"/> so a restarted
    /// orchestrator adopts the nginx the previous one left serving. <see cref="CueNginxOptions"/> are validated when the
    /// host starts and when the router is first resolved; every problem is listed.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets <see cref="CueNginxOptions"/>, including each service's <see cref="NginxServiceOptions.HttpCage"/>.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddCueNginx(this IOrchestrationBuilder builder, Action<CueNginxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddValidatedOptions<CueNginxOptions, CueNginxOptionsValidator>(configure)
            .PostConfigure<IOptions<OrchestrationOptions>>((o, orchestration) => o.StateDirectory ??= CueNginxRouter.DefaultStateDirectory(orchestration.Value.VmId));
        builder.Services.TryAddSingleton(sp => new CueNginxRouter(
            sp.GetRequiredService<IOptions<CueNginxOptions>>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<ITrafficRouter>(sp => sp.GetRequiredService<CueNginxRouter>()));

        // The managers of the types CueNginx serves; each checks at admission that CueNginx is still the router.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IComponentManager, CueNginxComponentManager>(sp => new CueNginxComponentManager(sp.GetService<ITrafficRouter>, () => sp.GetRequiredService<IOptions<CueNginxOptions>>().Value)));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IComponentManager, HttpCageComponentManager>(sp => new HttpCageComponentManager(sp.GetService<ITrafficRouter>, () => sp.GetRequiredService<IOptions<CueNginxOptions>>().Value)));
        return builder;
    }
}
