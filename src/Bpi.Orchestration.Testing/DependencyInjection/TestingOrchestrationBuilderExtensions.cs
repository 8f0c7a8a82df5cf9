using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the in-memory runtime and router.</summary>
public static class TestingOrchestrationBuilderExtensions
{
    /// <summary>
    /// Uses the <see cref="InMemoryWorkloadRuntime"/> (resolve it to inject faults), on the registered <see cref="TimeProvider"/>.
    /// The analysis' requests to its instances are simulated (<see cref="InMemoryFaults.RespondWith"/> sets a revision's
    /// error rate and latency) unless the host registered its own sender with <c>UseRequestSender&lt;T&gt;()</c>.
    /// </summary>
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

        // The analysis' requests are answered by the simulated services, unless the host chose its own sender.
        builder.Services.TryAddSingleton(sp => new InMemoryRequestSender(sp.GetRequiredService<InMemoryWorkloadRuntime>(), sp.GetRequiredService<IOptions<InMemoryRuntimeOptions>>().Value.Seed));
        builder.UseDefaultRequestSender<InMemoryRequestSender>();
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
