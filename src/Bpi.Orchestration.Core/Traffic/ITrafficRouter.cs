using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Traffic;

/// <summary>
/// Sets the weights of revisions behind a service's stable endpoint. Implementations: nginx (CueNginx), the
/// in-process proxy (the embedded default), Kubernetes Service selectors, the in-memory router (Testing). Without a
/// router, strategies approximate weights by the replica ratio.
/// </summary>
/// <remarks>A weight change applies to new connections at once and never cuts open ones. Calls are idempotent.</remarks>
public interface ITrafficRouter
{
    /// <summary>A short name for the router, for example <c>in-process</c> or <c>nginx</c>.</summary>
    string Name { get; }

    /// <summary>Applies a route: the service's backends with their weights. Replaces whatever the service had.</summary>
    /// <param name="route">The service and its weighted backends.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The service's stable endpoint, or <see langword="null"/> when the router does not expose one.</returns>
    /// <exception cref="OrchestrationException">The route could not be applied (<see cref="OrchestrationErrorKind.NetworkSetupFailed"/>); the previous route stays live.</exception>
    ValueTask<ServiceEndpoint?> ApplyAsync(TrafficRoute route, CancellationToken cancellationToken = default);

    /// <summary>Removes a service's route and its listener. Idempotent.</summary>
    /// <param name="serviceId">The service (see <see cref="TrafficRoute.ServiceId"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the route is gone.</returns>
    ValueTask RemoveAsync(string serviceId, CancellationToken cancellationToken = default);
}

/// <summary>A service's weighted backends.</summary>
/// <param name="ServiceId">The service: <c>{deploymentId}/{componentId}</c> (see <see cref="ForComponent"/>).</param>
/// <param name="Backends">The revisions behind the service, with their weights.</param>
public sealed record TrafficRoute(string ServiceId, IReadOnlyList<TrafficBackend> Backends)
{
    /// <summary>The port the service listens on; <see langword="null"/> lets the router choose one.</summary>
    public int? ListenPort { get; init; }

    /// <summary>The service id of a deployment's component.</summary>
    /// <param name="deploymentId">The deployment id.</param>
    /// <param name="componentId">The component id.</param>
    /// <returns><c>{deploymentId}/{componentId}</c>.</returns>
    public static string ForComponent(string deploymentId, string componentId) => deploymentId + "/" + componentId;
}

/// <summary>One revision behind a service.</summary>
/// <param name="Revision">The revision number.</param>
/// <param name="Weight">The share of new connections, 0–100; the weights of a route add up to 100 (or all are 0).</param>
/// <param name="Endpoints">The revision's ready instances.</param>
public sealed record TrafficBackend(int Revision, int Weight, IReadOnlyList<ServiceEndpoint> Endpoints);
