using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the in-process traffic router.</summary>
public static class InProcessRouterOrchestrationBuilderExtensions
{
    /// <summary>Uses the in-process traffic router (<see cref="InProcessTrafficRouter"/>; resolve it for service endpoints and counters), replacing any router registered before.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets <see cref="InProcessRouterOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddInProcessRouter(this IOrchestrationBuilder builder, Action<InProcessRouterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddValidatedOptions<InProcessRouterOptions, InProcessRouterOptionsValidator>(configure);
        builder.Services.TryAddSingleton(sp => new InProcessTrafficRouter(
            sp.GetRequiredService<IOptions<InProcessRouterOptions>>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<ITrafficRouter>(sp => sp.GetRequiredService<InProcessTrafficRouter>()));
        return builder;
    }
}
