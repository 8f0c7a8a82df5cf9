using Bpi.Orchestration.Strategies.Analysis;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Analysis;

public sealed class StatisticsTests
{
    [Theory]
    [InlineData(0.0, 0.5)]
    [InlineData(1.959964, 0.975)]
    [InlineData(-1.644854, 0.05)]
    [InlineData(3.0, 0.998650)]
    public void The_normal_distribution_matches_tabulated_values(double z, double expected)
        => Assert.Equal(expected, Statistics.NormalCdf(z), 5);

    [Fact]
    public void Mann_Whitney_finds_a_shifted_sample_greater_and_not_the_reverse()
    {
        var random = new Random(1);
        var stable = Enumerable.Range(0, 100).Select(_ => 100 * (0.5 + random.NextDouble())).ToArray();
        var slower = Enumerable.Range(0, 100).Select(_ => 130 * (0.5 + random.NextDouble())).ToArray();

        Assert.True(Statistics.MannWhitneyGreaterPValue(slower, stable) < 0.01);
        Assert.True(Statistics.MannWhitneyGreaterPValue(stable, slower) > 0.99);
    }

    [Fact]
    public void Mann_Whitney_p_values_of_the_two_directions_add_up_to_about_one_for_any_samples()
    {
        var gen = Gen.ListOf(Gen.Choose(0, 20), 30).Zip(Gen.ListOf(Gen.Choose(0, 20), 30));
        Prop.ForAll(gen.ToArbitrary(), input =>
        {
            var x = input.Item1.Select(v => (double)v).ToArray();
            var y = input.Item2.Select(v => (double)v).ToArray();
            var sum = Statistics.MannWhitneyGreaterPValue(x, y) + Statistics.MannWhitneyGreaterPValue(y, x);
            return sum is > 0.9 and < 1.1 || (x.Concat(y).Distinct().Count() == 1);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    [Fact]
    public void The_two_proportion_test_flags_thirty_percent_errors_against_one_percent()
    {
        Assert.True(Statistics.TwoProportionGreaterPValue(60, 200, 2, 200) < 0.001);
        Assert.True(Statistics.TwoProportionGreaterPValue(2, 200, 3, 200) > 0.3);
    }

    [Fact]
    public void The_judge_scores_with_marginal_and_pass_thresholds_and_needs_a_minimum_sample()
    {
        var spec = new StatisticalJudgeSpec { MinimumSampleSize = 50 };
        var stable = Samples(200, 100, 0.0, 1);
        var sameish = Samples(200, 100, 0.0, 2);
        var slower = Samples(200, 140, 0.0, 3);
        var failing = Samples(200, 100, 0.3, 4);

        Assert.True(StatisticalJudge.Judge(spec, sameish, stable).Phase == AnalysisPhase.Successful, StatisticalJudge.Judge(spec, sameish, stable).ToString());
        Assert.Equal(AnalysisPhase.Failed, StatisticalJudge.Judge(spec, slower, stable).Phase);
        Assert.Equal(50, StatisticalJudge.Judge(spec, slower, stable).Score);
        Assert.Equal(AnalysisPhase.Failed, StatisticalJudge.Judge(spec, failing, stable).Phase);
        Assert.Equal(AnalysisPhase.Inconclusive, StatisticalJudge.Judge(spec, Samples(10, 100, 0, 5), Samples(10, 100, 0, 6)).Phase);
        Assert.Equal(AnalysisPhase.Inconclusive, StatisticalJudge.Judge(spec with { MarginalScore = 40 }, slower, stable).Phase);
    }

    [Theory]
    [InlineData(0.99, null, null, AnalysisPhase.Inconclusive)]
    [InlineData(0.90, 0.95, null, AnalysisPhase.Failed)]
    [InlineData(0.99, 0.95, null, AnalysisPhase.Successful)]
    [InlineData(0.40, 0.95, 0.5, AnalysisPhase.Failed)]
    [InlineData(0.90, 0.95, 0.5, AnalysisPhase.Inconclusive)]
    [InlineData(0.90, null, 0.5, AnalysisPhase.Successful)]
    public void A_measurement_is_classified_as_Argo_Rollouts_does(double value, double? successMin, double? failureMax, AnalysisPhase expected)
    {
        var metric = new MetricSpec
        {
            Name = "m",
            Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate),
            SuccessCondition = successMin is { } s ? MetricCondition.AtLeast(s) : null,
            FailureCondition = failureMax is { } f ? MetricCondition.AtMost(f) : null,
        };

        Assert.Equal(expected, AnalysisRunner.Evaluate(metric, value));
    }

    private static List<RequestSample> Samples(int count, double latencyMs, double errorRate, int seed)
    {
        var random = new Random(seed);
        // Evenly spread latencies (the same distribution for the same mean), errors at random.
        return [.. Enumerable.Range(0, count).Select(i => new RequestSample(random.NextDouble() >= errorRate, TimeSpan.FromMilliseconds(latencyMs * (0.5 + ((i + 0.5) / count)))))];
    }
}
