using Bpi.Orchestration;
using Bpi.Orchestration.AspNetCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the services of the HTTP API, health checks and metrics on an orchestration builder.</summary>
public static class OrchestrationApiOrchestrationBuilderExtensions
{
    /// <summary>
    /// Adds what <c>MapOrchestrationApi</c>, <c>MapOrchestrationHealthChecks</c> and the Prometheus endpoint need:
    /// the API's options (validated at start and on first use), the health checks <c>orchestration</c> and
    /// <c>containers</c>, and the OpenTelemetry meter provider over the SDK's meter with the seed's metric names.
    /// </summary>
    /// <param name="builder">The orchestration builder.</param>
    /// <param name="configure">Changes the options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IOrchestrationBuilder AddOrchestrationApi(this IOrchestrationBuilder builder, Action<OrchestrationApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddValidatedOptions<OrchestrationApiOptions, OrchestrationApiOptionsValidator>(configure);
        services.TryAddSingleton<ScanMemory>();
        if (!services.Any(d => d.ServiceType == typeof(OrchestrationApiMarker) && d.ImplementationInstance is not null))
        {
            services.AddSingleton(new OrchestrationApiMarker());
            services.AddHealthChecks()
                .AddCheck<OrchestrationHealthCheck>(OrchestrationHealthTags.Orchestration, tags: [OrchestrationHealthTags.Orchestration, "ready"])
                .AddCheck<ContainersHealthCheck>(OrchestrationHealthTags.Containers, tags: [OrchestrationHealthTags.Containers]);
            services.AddOpenTelemetry().WithMetrics(metrics => OrchestrationMetrics.Configure(metrics));
        }

        return builder;
    }
}

/// <summary>Marks that <see cref="OrchestrationApiOrchestrationBuilderExtensions.AddOrchestrationApi"/> ran.</summary>
internal sealed class OrchestrationApiMarker;

/// <summary>Lists every problem of <see cref="OrchestrationApiOptions"/>.</summary>
internal sealed class OrchestrationApiOptionsValidator : IValidateOptions<OrchestrationApiOptions>
{
    public ValidateOptionsResult Validate(string? name, OrchestrationApiOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
