using Bpi.Orchestration;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the local-process runtime.</summary>
public static class ProcessOrchestrationBuilderExtensions
{
    /// <summary>
    /// Uses the local-process runtime (<see cref="ProcessWorkloadRuntime"/>; resolve it to stream logs), replacing any
    /// runtime registered before. Its state directory defaults to <c>{temp}/bpi-orchestration/{VmId}</c>: set a stable
    /// <see cref="OrchestrationOptions.VmId"/> so a restarted orchestrator finds the processes the previous one left.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets <see cref="ProcessRuntimeOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddProcessRuntime(this IOrchestrationBuilder builder, Action<ProcessRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddValidatedOptions<ProcessRuntimeOptions, ProcessRuntimeOptionsValidator>(configure);
        options.PostConfigure<IOptions<OrchestrationOptions>>((o, orchestration) => o.StateDirectory ??= ProcessWorkloadRuntime.DefaultStateDirectory(orchestration.Value.VmId));
        builder.Services.TryAddSingleton(sp => new ProcessWorkloadRuntime(
            sp.GetRequiredService<IOptions<ProcessRuntimeOptions>>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp => sp.GetRequiredService<ProcessWorkloadRuntime>()));
        return builder;
    }
}
