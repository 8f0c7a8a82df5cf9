using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the in-memory runtime and router.</summary>
public static class TestingOrchestrationBuilderExtensions
{
    /// <summary>Uses the <see cref="InMemoryWorkloadRuntime"/> (resolve it to inject faults), on the registered <see cref="TimeProvider"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets <see cref="InMemoryRuntimeOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddInMemoryRuntime(this IOrchestrationBuilder builder, Action<InMemoryRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<InMemoryRuntimeOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton(sp => new InMemoryWorkloadRuntime(sp.GetRequiredService<IOptions<InMemoryRuntimeOptions>>(), sp.GetService<TimeProvider>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp => sp.GetRequiredService<InMemoryWorkloadRuntime>()));
        return builder;
    }

    /// <summary>Uses the <see cref="InMemoryTrafficRouter"/> (resolve it to read routes and simulate requests).</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddInMemoryTrafficRouter(this IOrchestrationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(sp => new InMemoryTrafficRouter(sp.GetService<InMemoryWorkloadRuntime>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<ITrafficRouter>(sp => sp.GetRequiredService<InMemoryTrafficRouter>()));
        return builder;
    }
}
