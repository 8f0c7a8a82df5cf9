using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Testing;

/// <summary>
/// An <see cref="ITrafficRouter"/> that keeps routes in memory and can simulate requests through them
/// (<see cref="SendRequest"/>): a weighted pick of a revision, then of one of its endpoints, answered with the
/// behaviour the <see cref="InMemoryWorkloadRuntime"/> gives that instance.
/// </summary>
public sealed class InMemoryTrafficRouter : ITrafficRouter
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TrafficRoute> _routes = new(StringComparer.Ordinal);
    private readonly Queue<TrafficRoute> _history = new();
    private readonly InMemoryWorkloadRuntime? _runtime;
    private readonly Random _random;
    private int _failNextApplies;

    /// <summary>Creates a router; pass the in-memory runtime to simulate instance behaviour in <see cref="SendRequest"/>.</summary>
    /// <param name="runtime">The runtime whose instances answer simulated requests, if any.</param>
    public InMemoryTrafficRouter(InMemoryWorkloadRuntime? runtime = null)
    {
        _runtime = runtime;
        _random = runtime?.Random ?? new Random(42);
    }

    /// <inheritdoc />
    public string Name => "in-memory";

    /// <summary>How many applied routes <see cref="History"/> keeps: a long soak test must not grow without bound.</summary>
    public const int HistoryCapacity = 1_000;

    /// <summary>The routes applied, oldest first: the last <see cref="HistoryCapacity"/> of them.</summary>
    public IReadOnlyList<TrafficRoute> History
    {
        get
        {
            lock (_gate)
            {
                return [.. _history];
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<ServiceEndpoint?> ApplyAsync(TrafficRoute route, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(route);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_failNextApplies > 0)
            {
                _failNextApplies--;
                throw new OrchestrationException(OrchestrationErrorKind.NetworkSetupFailed, $"The in-memory router simulated a rejected route for '{route.ServiceId}'; the previous route stays live.");
            }

            _routes[route.ServiceId] = route;
            if (_history.Count == HistoryCapacity)
            {
                _history.Dequeue();
            }

            _history.Enqueue(route);
        }

        return ValueTask.FromResult<ServiceEndpoint?>(new ServiceEndpoint("in-memory-router", 80, route.ServiceId));
    }

    /// <inheritdoc />
    public ValueTask RemoveAsync(string serviceId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _routes.Remove(serviceId);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Makes the next <paramref name="count"/> route changes fail with <see cref="OrchestrationErrorKind.NetworkSetupFailed"/>.</summary>
    /// <param name="count">How many.</param>
    public void FailNextApplies(int count)
    {
        lock (_gate)
        {
            _failNextApplies += count;
        }
    }

    /// <summary>The route of a service, or <see langword="null"/> when it has none.</summary>
    /// <param name="serviceId">The service (<see cref="TrafficRoute.ForComponent"/>).</param>
    /// <returns>The route.</returns>
    public TrafficRoute? GetRoute(string serviceId)
    {
        lock (_gate)
        {
            return _routes.GetValueOrDefault(serviceId);
        }
    }

    /// <summary>The weights of a service's route (revision → weight); empty when it has none.</summary>
    /// <param name="serviceId">The service.</param>
    /// <returns>The weights.</returns>
    public IReadOnlyDictionary<int, int> GetWeights(string serviceId)
        => GetRoute(serviceId)?.Backends.ToDictionary(b => b.Revision, b => b.Weight) ?? new Dictionary<int, int>();

    /// <summary>Simulates one request to a service: picks a revision by weight and one of its endpoints at random, and answers with that instance's simulated behaviour.</summary>
    /// <param name="serviceId">The service.</param>
    /// <returns>Which revision and endpoint answered, and whether the request succeeded.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/>: the service has no route or no backend.</exception>
    public SimulatedResponse SendRequest(string serviceId)
    {
        TrafficBackend backend;
        ServiceEndpoint endpoint;
        double roll;
        lock (_gate)
        {
            if (!_routes.TryGetValue(serviceId, out var route))
            {
                throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"Service '{serviceId}' has no route.");
            }

            var candidates = route.Backends.Where(b => b.Weight > 0 && b.Endpoints.Count > 0).ToList();
            var total = candidates.Sum(b => b.Weight);
            if (total == 0)
            {
                throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"Service '{serviceId}' has no backend with weight and endpoints.");
            }

            var pick = _random.Next(total);
            backend = candidates[^1];
            foreach (var candidate in candidates)
            {
                if (pick < candidate.Weight)
                {
                    backend = candidate;
                    break;
                }

                pick -= candidate.Weight;
            }

            endpoint = backend.Endpoints[_random.Next(backend.Endpoints.Count)];
            roll = _random.NextDouble();
        }

        var instance = _runtime?.Snapshot().FirstOrDefault(i => i.Revision == backend.Revision && i.Endpoints.Contains(endpoint));
        var behavior = instance is null ? null : _runtime!.GetBehavior(instance.InstanceId);
        var errorRate = behavior?.ErrorRate ?? 0;
        return new SimulatedResponse(backend.Revision, endpoint, roll >= errorRate, behavior?.Latency ?? TimeSpan.Zero);
    }
}

/// <summary>The answer to a simulated request.</summary>
/// <param name="Revision">The revision that answered.</param>
/// <param name="Endpoint">The endpoint that answered.</param>
/// <param name="Success">Whether the request succeeded.</param>
/// <param name="Latency">How long it took.</param>
public sealed record SimulatedResponse(int Revision, ServiceEndpoint Endpoint, bool Success, TimeSpan Latency);
