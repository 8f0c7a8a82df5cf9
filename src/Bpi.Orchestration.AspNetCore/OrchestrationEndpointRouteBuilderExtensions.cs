using Bpi.Orchestration.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the orchestrator's HTTP API on an ASP.NET Core host.</summary>
public static class OrchestrationEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the seed's REST API under <paramref name="prefix"/>: <c>POST /orchestration/deploy</c>,
    /// <c>GET /orchestration/deployment/{id}</c>, <c>GET /orchestration/deployments</c>, <c>POST /security/scan</c>,
    /// <c>GET /security/assessment/{id}</c>, and update, scale, rollback, pause, resume, abort, promote, approve, reject,
    /// destroy, rollout history, DORA, server-sent events, audit verify and export, and compliance reports. Every call
    /// runs as the request's authenticated principal mapped to an <see cref="Bpi.Orchestration.OrchestrationActor"/>, so
    /// the orchestrator's authorizer decides; failures are RFC 9457 problem details. Register the services first with
    /// <c>AddOrchestrationApi()</c>.
    /// </summary>
    /// <param name="endpoints">The host's endpoints.</param>
    /// <param name="prefix">The path the API lives under.</param>
    /// <returns>The API's route group, for the host's authentication, authorization, rate limiting or CORS policies.</returns>
    public static RouteGroupBuilder MapOrchestrationApi(this IEndpointRouteBuilder endpoints, string prefix = "/api/v1")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        if (endpoints.ServiceProvider.GetService<OrchestrationApiMarker>() is null)
        {
            throw new InvalidOperationException("MapOrchestrationApi needs the API's services: call services.AddOrchestration(...).AddOrchestrationApi() when building the host.");
        }

        var api = endpoints.MapGroup(prefix);
        api.AddEndpointFilter(OrchestrationApiFilter.InvokeAsync);
        var routes = new ApiRoutes(prefix.TrimEnd('/'));
        DeploymentEndpoints.Map(api, routes);
        ControlEndpoints.Map(api, routes);
        EventStreamEndpoints.Map(api);
        SecurityEndpoints.Map(api);
        AuditEndpoints.Map(api);
        return api;
    }
}

/// <summary>Maps the orchestrator's health and metrics endpoints.</summary>
public static class OrchestrationHealthEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>/health/orchestration</c> (the orchestrator's state) and <c>/health/containers</c> (instances on the
    /// runtime) with the seed's fields, on <c>Microsoft.Extensions.Diagnostics.HealthChecks</c> (their checks are
    /// tagged <c>orchestration</c>/<c>ready</c> and <c>containers</c> for the host's own <c>MapHealthChecks</c>), and
    /// <c>/metrics</c>, the Prometheus scrape endpoint over the SDK's meter.
    /// </summary>
    /// <param name="endpoints">The host's endpoints.</param>
    /// <returns>The endpoints, for chaining.</returns>
    public static IEndpointRouteBuilder MapOrchestrationHealthChecks(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapHealthChecks("/health/orchestration", HealthJson.For(OrchestrationHealthTags.Orchestration));
        endpoints.MapHealthChecks("/health/containers", HealthJson.For(OrchestrationHealthTags.Containers));
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        return endpoints;
    }
}
