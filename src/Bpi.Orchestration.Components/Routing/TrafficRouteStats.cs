using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Routing;

/// <summary>What went through one service of the <see cref="InProcessTrafficRouter"/> since its route was first applied.</summary>
/// <param name="ServiceId">The service.</param>
/// <param name="Endpoint">Where the service listens.</param>
/// <param name="ConnectionsAccepted">Connections accepted by the listener.</param>
/// <param name="ConnectionsRejected">Connections closed because no backend accepted them (none in the route, or every one refused).</param>
/// <param name="ActiveConnections">Connections open now.</param>
/// <param name="Backends">Every backend the service has used, including ones no longer in its route (<see cref="TrafficBackendStats.InRoute"/>).</param>
public sealed record TrafficRouteStats(
    string ServiceId,
    ServiceEndpoint Endpoint,
    long ConnectionsAccepted,
    long ConnectionsRejected,
    long ActiveConnections,
    IReadOnlyList<TrafficBackendStats> Backends)
{
    /// <summary>
    /// Requests sent again to another backend because theirs closed or reset the connection before answering
    /// (<see cref="InProcessRouterOptions.MaxRequestRetries"/>).
    /// </summary>
    public long RequestsRetried { get; init; }

    /// <summary>The connections proxied to one revision (summed over its endpoints). With HTTP, one connection carries one or more requests (keep-alive).</summary>
    /// <param name="revision">The revision.</param>
    /// <returns>The number of connections.</returns>
    public long ConnectionsTo(int revision) => Backends.Where(b => b.Revision == revision).Sum(b => b.Connections);
}

/// <summary>What went through one backend endpoint of a service.</summary>
/// <param name="Revision">The revision the endpoint belongs to.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Weight">The share of new connections the endpoint gets now, in percent (its revision's weight divided among the revision's endpoints); 0 when it is no longer in the route.</param>
/// <param name="InRoute">Whether the endpoint is in the service's current route.</param>
/// <param name="Available">Whether new connections are sent to it (false for <see cref="InProcessRouterOptions.BackendRetryAfter"/> after it refused one).</param>
/// <param name="Connections">Connections proxied to it.</param>
/// <param name="ActiveConnections">Connections to it open now.</param>
/// <param name="Refused">Connection attempts it refused (or that timed out); each one was retried on another backend.</param>
/// <param name="BytesToBackend">Bytes sent from clients to it.</param>
/// <param name="BytesFromBackend">Bytes sent from it to clients.</param>
public sealed record TrafficBackendStats(
    int Revision,
    ServiceEndpoint Endpoint,
    double Weight,
    bool InRoute,
    bool Available,
    long Connections,
    long ActiveConnections,
    long Refused,
    long BytesToBackend,
    long BytesFromBackend);
