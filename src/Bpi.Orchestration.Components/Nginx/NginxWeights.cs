using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Nginx;

/// <summary>One <c>server</c> line of an upstream: an endpoint of a revision with its integer nginx weight, or <c>down</c> (weight 0).</summary>
/// <param name="Revision">The revision the endpoint belongs to.</param>
/// <param name="Endpoint">The endpoint.</param>
/// <param name="Weight">nginx's <c>weight=</c> (at least 1), or 0 for a server marked <c>down</c>.</param>
internal readonly record struct NginxServer(int Revision, ServiceEndpoint Endpoint, long Weight)
{
    public bool IsDown => Weight == 0;
}

/// <summary>
/// Splits revision weights (0–100 each) over the revisions' endpoints as nginx's per-server integer weights, so that the
/// revisions' shares are exact: a revision with weight W and n endpoints gives each endpoint W·L/n, where L is the least
/// common multiple of the endpoint counts, then every weight is divided by their greatest common divisor (10/90 with one
/// endpoint each renders as 1 and 9). nginx has no weight 0: endpoints of a revision with weight 0 are rendered
/// <c>down</c>, which also keeps <c>ip_hash</c>'s mapping of the other clients. A revision with a weight but no
/// endpoints takes no share; the others split the traffic in proportion, as in the in-process router.
/// </summary>
internal static class NginxWeights
{
    /// <summary>Above this least common multiple of endpoint counts (weights up to 10,000,000), the split falls back to a precision of 1/10,000 of a revision's weight per endpoint.</summary>
    internal const long MaxLcm = 100_000;

    private const double FallbackScale = 10_000;

    public static List<NginxServer> Split(IReadOnlyList<TrafficBackend> backends)
    {
        var groups = backends.Select(b => (b.Revision, b.Weight, Endpoints: b.Endpoints.Distinct().ToList())).ToList();
        var live = groups.Where(g => g.Weight > 0 && g.Endpoints.Count > 0).ToList();
        long lcm = 1;
        foreach (var group in live)
        {
            lcm = Lcm(lcm, group.Endpoints.Count);
            if (lcm > MaxLcm)
            {
                break;
            }
        }

        var exact = lcm <= MaxLcm;
        var weights = new Dictionary<int, long>();
        foreach (var group in live)
        {
            weights[group.Revision] = exact
                ? group.Weight * (lcm / group.Endpoints.Count)
                : Math.Max(1, (long)Math.Round(group.Weight * FallbackScale / group.Endpoints.Count, MidpointRounding.AwayFromZero));
        }

        var divisor = weights.Values.Aggregate(0L, Gcd);
        var servers = new List<NginxServer>();
        foreach (var group in groups)
        {
            var weight = weights.TryGetValue(group.Revision, out var w) ? w / divisor : 0;
            servers.AddRange(group.Endpoints.Select(e => new NginxServer(group.Revision, e, weight)));
        }

        return servers;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }

    private static long Lcm(long a, long b) => a / Gcd(a, b) * b;
}
