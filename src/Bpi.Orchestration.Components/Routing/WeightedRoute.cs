using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Routing;

/// <summary>The counters and availability of one backend endpoint of a service; kept across route changes.</summary>
internal sealed class BackendState(int revision, ServiceEndpoint endpoint)
{
    public long Connections;
    public long Active;
    public long Refused;
    public long BytesToBackend;
    public long BytesFromBackend;

    /// <summary>The <see cref="TimeProvider.GetTimestamp"/> until which new connections skip this backend; 0 when available.</summary>
    public long DownUntil;

    public int Revision { get; } = revision;

    public ServiceEndpoint Endpoint { get; } = endpoint;

    public bool IsDown(long now)
    {
        var until = Volatile.Read(ref DownUntil);
        return until != 0 && now < until;
    }
}

/// <summary>
/// One applied route: its endpoints with integer weights, picked by nginx's smooth weighted round-robin. Deterministic:
/// weights 10/90 send exactly 1 of every 10 new connections to the first backend, spread evenly rather than in bursts.
/// A revision's weight is divided evenly among its endpoints. Immutable except for the picker's running state; a route
/// change builds a new one, so open connections are never affected.
/// </summary>
internal sealed class WeightedRoute
{
    /// <summary>The scale of a revision's weight (0–100) before it is divided among the revision's endpoints.</summary>
    private const int Scale = 10_000;

    private readonly Lock _gate = new();
    private readonly BackendState[] _backends;
    private readonly int[] _weights;
    private readonly long[] _current;

    public WeightedRoute(IReadOnlyList<(BackendState Backend, int RevisionWeight, int EndpointsInRevision)> backends)
    {
        _backends = [.. backends.Select(b => b.Backend)];
        _weights = [.. backends.Select(b => b.EndpointsInRevision == 0 ? 0 : b.RevisionWeight * Scale / b.EndpointsInRevision)];
        _current = new long[_backends.Length];
        var total = _weights.Sum(w => (long)w);
        Shares = [.. _weights.Select(w => total == 0 ? 0 : 100.0 * w / total)];
    }

    public static WeightedRoute Empty { get; } = new([]);

    public IReadOnlyList<BackendState> Backends => _backends;

    /// <summary>Each backend's share of new connections, in percent.</summary>
    public IReadOnlyList<double> Shares { get; }

    /// <summary>Picks the next backend, skipping <paramref name="tried"/> and, while any other is available, backends marked down.</summary>
    /// <returns>The backend, or <see langword="null"/> when none is left.</returns>
    public BackendState? Pick(List<BackendState>? tried, long now)
    {
        lock (_gate)
        {
            return PickCore(tried, now, skipDown: true) ?? PickCore(tried, now, skipDown: false);
        }
    }

    private BackendState? PickCore(List<BackendState>? tried, long now, bool skipDown)
    {
        long total = 0;
        var best = -1;
        for (var i = 0; i < _backends.Length; i++)
        {
            var weight = _weights[i];
            var backend = _backends[i];
            if (weight == 0 || (tried is not null && tried.Contains(backend)) || (skipDown && backend.IsDown(now)))
            {
                continue;
            }

            _current[i] += weight;
            total += weight;
            if (best < 0 || _current[i] > _current[best])
            {
                best = i;
            }
        }

        if (best < 0)
        {
            return null;
        }

        _current[best] -= total;
        return _backends[best];
    }
}
