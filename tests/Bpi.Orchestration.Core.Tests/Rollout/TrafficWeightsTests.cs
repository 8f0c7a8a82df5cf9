using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Core.Tests.Rollout;

/// <summary>The shared weights plans use: all traffic to one revision, and no route.</summary>
public sealed class TrafficWeightsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(100_000)]
    public void All_to_one_revision_reads_like_a_dictionary_with_that_one_entry(int revision)
    {
        var weights = TrafficWeights.AllTo(revision);

        Assert.Equal(new Dictionary<int, int> { [revision] = 100 }, weights);
        Assert.Single(weights);
        Assert.Equal(100, weights[revision]);
        Assert.True(weights.ContainsKey(revision));
        Assert.False(weights.ContainsKey(revision + 1));
        Assert.False(weights.TryGetValue(revision + 1, out _));
        Assert.Throws<KeyNotFoundException>(() => weights[revision + 1]);
        Assert.Equal([revision], weights.Keys);
        Assert.Equal([100], weights.Values);
        Assert.True(TrafficWeights.IsImmutable(weights));
    }

    [Fact]
    public void No_route_is_empty_and_only_the_shared_weights_count_as_immutable()
    {
        Assert.Empty(TrafficWeights.None);
        Assert.True(TrafficWeights.IsImmutable(TrafficWeights.None));
        Assert.False(TrafficWeights.IsImmutable(new Dictionary<int, int> { [1] = 100 }));
        Assert.False(TrafficWeights.IsImmutable(new Dictionary<int, int>()));
    }

    [Fact]
    public void Progress_keeps_a_callers_own_dictionary_as_it_was_when_recorded()
    {
        var progress = new RolloutProgress();
        var weights = new Dictionary<int, int> { [1] = 90, [2] = 10 };
        progress.RecordTraffic("web", weights, approximated: false);
        weights[2] = 50;

        Assert.Equal(10, progress.GetTraffic("web").Weights![2]);
    }
}
