using FsCheck;
using FsCheck.Fluent;

namespace Bpi.Orchestration.Security.Tests.CheckCatalog;

public sealed class SecurityScoreTests
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(500);
    private static readonly SecuritySeverity[] Severities = [.. SecurityCheckCatalog.All.Select(c => c.Severity)];

    [Theory]
    [InlineData(SecuritySeverity.Critical, 10)]
    [InlineData(SecuritySeverity.High, 5)]
    [InlineData(SecuritySeverity.Medium, 2)]
    [InlineData(SecuritySeverity.Low, 1)]
    public void Weights_follow_the_issue(SecuritySeverity severity, int weight) => Assert.Equal(weight, SecurityScore.WeightOf(severity));

    [Fact]
    public void Score_is_ten_times_the_passed_share_of_applicable_weight()
    {
        // High passed (5) + medium failed (2) + low passed (1) + critical not applicable: 10 × (1 − 2/8) = 7.5.
        var score = SecurityScore.Compute([
            (SecuritySeverity.High, CheckOutcome.Passed),
            (SecuritySeverity.Medium, CheckOutcome.Failed),
            (SecuritySeverity.Low, CheckOutcome.Passed),
            (SecuritySeverity.Critical, CheckOutcome.NotApplicable)]);
        Assert.Equal(7.5, score, 10);
    }

    [Fact]
    public void A_failed_critical_caps_the_score_at_3_9_and_a_failed_high_at_6_9()
    {
        var many = Enumerable.Repeat((SecuritySeverity.Medium, CheckOutcome.Passed), 200).ToList();
        Assert.Equal(3.9, SecurityScore.Compute([.. many, (SecuritySeverity.Critical, CheckOutcome.Failed)]), 10);
        Assert.Equal(6.9, SecurityScore.Compute([.. many, (SecuritySeverity.High, CheckOutcome.Failed)]), 10);
        Assert.Equal(9.9, SecurityScore.Compute([.. many, (SecuritySeverity.Low, CheckOutcome.Failed)]), 10); // 9.975…, rounded down
    }

    [Fact]
    public void The_score_has_one_decimal_rounded_down_so_only_nothing_failed_scores_ten()
    {
        // 21 applicable weight with 1 failed: 9.5238…; 105 with 2 failed: 9.8095… (the unrounded score seen in #13).
        var low = Enumerable.Repeat((SecuritySeverity.Low, CheckOutcome.Passed), 20).Append((SecuritySeverity.Low, CheckOutcome.Failed));
        var medium = Enumerable.Repeat((SecuritySeverity.Low, CheckOutcome.Passed), 103).Append((SecuritySeverity.Medium, CheckOutcome.Failed));
        var almost = Enumerable.Repeat((SecuritySeverity.Low, CheckOutcome.Passed), 999).Append((SecuritySeverity.Low, CheckOutcome.Failed));

        Assert.Equal(9.5, SecurityScore.Compute(low));
        Assert.Equal(9.8, SecurityScore.Compute(medium));
        Assert.Equal(9.9, SecurityScore.Compute(almost));
        Assert.Equal(10, SecurityScore.Compute(Enumerable.Repeat((SecuritySeverity.Low, CheckOutcome.Passed), 1000)));
    }

    [Fact]
    public void Nothing_applicable_scores_zero_not_ten()
        => Assert.Equal(0, SecurityScore.Compute([(SecuritySeverity.High, CheckOutcome.NotApplicable)]));

    [Fact]
    public void Score_stays_in_zero_to_ten_and_is_deterministic()
    {
        Check.One(Config, Prop.ForAll(Outcomes(), outcomes =>
        {
            var score = SecurityScore.Compute(Pairs(outcomes));
            return score is >= 0 and <= 10 && score.Equals(SecurityScore.Compute(Pairs(outcomes)));
        }));
    }

    [Fact]
    public void Fixing_a_finding_never_lowers_the_score()
    {
        Check.One(Config, Prop.ForAll(Outcomes(), Arb.From(Gen.Choose(0, Severities.Length - 1)), (outcomes, pick) =>
        {
            var failed = Enumerable.Range(0, outcomes.Length).Where(i => outcomes[i] == CheckOutcome.Failed).ToList();
            if (failed.Count == 0)
            {
                return true;
            }

            var fixedOutcomes = (CheckOutcome[])outcomes.Clone();
            fixedOutcomes[failed[pick % failed.Count]] = CheckOutcome.Passed;
            return SecurityScore.Compute(Pairs(fixedOutcomes)) >= SecurityScore.Compute(Pairs(outcomes));
        }));
    }

    [Fact]
    public void Caps_hold_for_any_mix_of_outcomes()
    {
        Check.One(Config, Prop.ForAll(Outcomes(), outcomes =>
        {
            var pairs = Pairs(outcomes).ToList();
            var score = SecurityScore.Compute(pairs);
            var critical = pairs.Any(p => p.Severity == SecuritySeverity.Critical && p.Outcome == CheckOutcome.Failed);
            var high = pairs.Any(p => p.Severity == SecuritySeverity.High && p.Outcome == CheckOutcome.Failed);
            return (!critical || score <= 3.9) && (!high || score <= 6.9);
        }));
    }

    [Fact]
    public async Task Fixing_a_relaxation_of_a_spec_never_lowers_its_assessed_score()
    {
        using var assessor = TestSpecs.Assessor();
        var relaxations = new (string Key, string Value)[]
        {
            (DockLockSettings.NoNewPrivileges, "false"),
            (DockLockSettings.DropAllCapabilities, "false"),
            (DockLockSettings.ReadOnlyRootFilesystem, "false"),
            (DockLockSettings.NonRootUser, "false"),
            (DockLockSettings.ResourceLimits, "false"),
            (DockLockSettings.PidsLimit, "unlimited"),
            (DockLockSettings.AddCapabilities, "SYS_ADMIN,NET_ADMIN"),
            (DockLockSettings.RestartPolicy, "no"),
        };
        var masks = Gen.Choose(0, (1 << relaxations.Length) - 1);
        var cases = Gen.Sample(Gen.Zip(masks, Gen.Choose(0, relaxations.Length - 1)), 300);
        foreach (var (mask, pick) in cases)
        {
            DeploymentSpec Spec(int m) => TestSpecs.Hardened().WithComponent(c => c.WithSettings([.. relaxations.Where((_, i) => (m & (1 << i)) != 0).SelectMany(r => new[] { r, (r.Key + ".reason", "test") })]));
            var before = await assessor.AssessAsync(Spec(mask));
            var after = await assessor.AssessAsync(Spec(mask & ~(1 << pick)));
            Assert.True(after.Score >= before.Score, $"removing relaxation {relaxations[pick].Key} from mask {mask} lowered the score {before.Score} to {after.Score}");
            Assert.InRange(before.Score, 0, 10);
        }
    }

    private static Arbitrary<CheckOutcome[]> Outcomes()
        => Arb.From(Gen.ArrayOf(Gen.Elements(CheckOutcome.Passed, CheckOutcome.Failed, CheckOutcome.NotApplicable), Severities.Length));

    private static IEnumerable<(SecuritySeverity Severity, CheckOutcome Outcome)> Pairs(CheckOutcome[] outcomes) => Severities.Zip(outcomes);
}
