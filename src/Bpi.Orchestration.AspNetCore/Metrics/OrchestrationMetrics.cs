using Bpi.Orchestration.Telemetry;
using OpenTelemetry.Metrics;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// The SDK's meter (<c>Bpi.Orchestration</c>) through OpenTelemetry to the Prometheus exporter. The exporter turns
/// the instruments' dotted names into the seed's: <c>bpi.orchestration.deployments.active</c> →
/// <c>bpi_orchestration_deployments_active</c>, <c>bpi.orchestration.deployment.duration</c> (s) →
/// <c>bpi_orchestration_deployment_duration_seconds</c>; the scan counter is renamed to the seed's
/// <c>bpi_security_scans_completed_total</c>. What the SDK does not measure is not exported (see the README).
/// </summary>
internal static class OrchestrationMetrics
{
    public const string ScansCompleted = "bpi.orchestration.security.scans.completed";

    public static void Configure(MeterProviderBuilder metrics)
    {
        metrics.AddMeter(OrchestrationTelemetryNames.Name)
            .AddView(ScansCompleted, new MetricStreamConfiguration { Name = "bpi.security.scans.completed" })
            .AddPrometheusExporter();
    }
}

/// <summary>The tags of the package's health checks.</summary>
internal static class OrchestrationHealthTags
{
    public const string Orchestration = "orchestration";
    public const string Containers = "containers";
}
