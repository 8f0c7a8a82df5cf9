using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Routing;

public sealed class WeightedRouteTests
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static (BackendState Backend, int RevisionWeight, int EndpointsInRevision)[] Backends(IReadOnlyList<(int Weight, int Endpoints)> revisions)
        => [.. revisions.SelectMany((r, revision) => Enumerable.Range(0, r.Endpoints)
            .Select(e => (new BackendState(revision, new ServiceEndpoint("127.0.0.1", 10000 + (revision * 100) + e)), r.Weight, r.Endpoints)))];

    [Fact]
    public void Every_revision_gets_its_weighted_share_of_picks_within_one_pick_per_endpoint_for_any_weights()
    {
        var gen =
            from count in Gen.Choose(1, 5)
            from weights in Gen.ListOf(Gen.Choose(0, 100), count)
            from endpoints in Gen.ListOf(Gen.Choose(1, 4), count)
            from picks in Gen.Choose(1, 2000)
            where weights.Sum() > 0
            select (weights.Zip(endpoints).ToList(), picks);

        Prop.ForAll(gen.ToArbitrary(), input =>
        {
            var (revisions, picks) = input;
            var route = new WeightedRoute(Backends(revisions));
            var counts = new int[revisions.Count];
            for (var i = 0; i < picks; i++)
            {
                counts[route.Pick(null, 0)!.Revision]++;
            }

            var total = revisions.Sum(r => r.Item1);
            var endpoints = revisions.Sum(r => r.Item2);
            return revisions.Select((r, i) => Math.Abs(counts[i] - ((double)picks * r.Item1 / total)) <= endpoints + 1).All(ok => ok)
                && revisions.Select((r, i) => r.Item1 > 0 || counts[i] == 0).All(ok => ok);
        }).Check(Config);
    }

    [Fact]
    public void Weights_10_and_90_send_exactly_one_in_ten_spread_evenly()
    {
        var route = new WeightedRoute(Backends([(10, 1), (90, 1)]));

        var picks = Enumerable.Range(0, 100).Select(_ => route.Pick(null, 0)!.Revision).ToList();

        Assert.Equal(10, picks.Count(p => p == 0));
        Assert.All(picks.Chunk(10), chunk => Assert.Equal(1, chunk.Count(p => p == 0)));
    }

    [Fact]
    public void Tried_and_unavailable_backends_are_skipped_unless_nothing_else_is_left()
    {
        var backends = Backends([(50, 1), (50, 1)]);
        var route = new WeightedRoute(backends);
        var first = backends[0].Backend;
        var second = backends[1].Backend;

        Assert.Same(second, route.Pick([first], 0));
        Assert.Null(route.Pick([first, second], 0));

        first.DownUntil = 100;
        Assert.All(Enumerable.Range(0, 10), _ => Assert.Same(second, route.Pick(null, 50)));
        Assert.Same(first, route.Pick([second], 50)); // down, but the only one left
        Assert.Contains(route.Pick(null, 100), new[] { first, second }); // the retry time has passed
    }

    [Fact]
    public void A_route_whose_weights_are_all_zero_picks_nothing()
    {
        var route = new WeightedRoute(Backends([(0, 2), (0, 1)]));

        Assert.Null(route.Pick(null, 0));
        Assert.Null(WeightedRoute.Empty.Pick(null, 0));
    }
}
