using Bpi.Orchestration.Security.Authorization;

namespace Bpi.Orchestration.Security.Tests.Authorization;

public sealed class PolicyParserTests
{
    [Fact]
    public void Text_policy_lists_every_malformed_line()
    {
        var error = Assert.Throws<OrchestrationException>(() => AuthorizationPolicy.ParseText("""
            allow role:dev deploy
            permit role:dev deploy * *
            allow role:dev deploy * * when score>=11
            allow role:dev launch * *
            allow role:dev deploy * * when moon=full
            """));
        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains(error.Errors, e => e.StartsWith("policy:1", StringComparison.Ordinal) && e.Contains("5 fields", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("policy:2", StringComparison.Ordinal) && e.Contains("allow or deny", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("policy:3", StringComparison.Ordinal) && e.Contains("between 0 and 10", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("policy:5", StringComparison.Ordinal) && e.Contains("not understood", StringComparison.Ordinal));
        Assert.Equal(4, error.Errors.Count);
    }

    [Fact]
    public void Unknown_verbs_and_duplicate_names_are_refused()
    {
        var error = Assert.Throws<OrchestrationException>(() => AuthorizationPolicy.ParseText("[a] allow * launch * *\n[a] allow * read * *"));
        Assert.Contains(error.Errors, e => e.Contains("'launch'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("'a' is used 2 times", StringComparison.Ordinal));
    }

    [Fact]
    public void Json_policy_reports_bad_effects_and_conditions()
    {
        var error = Assert.Throws<OrchestrationException>(() => AuthorizationPolicy.ParseJson("""{"rules":[{"effect":"maybe","subjects":["*"],"verbs":["*"]},{"effect":"allow","subjects":["*"],"verbs":["*"],"when":["x"]}]}"""));
        Assert.Equal(2, error.Errors.Count);
        Assert.Contains(error.Errors, e => e.StartsWith("rules[0].effect is 'maybe'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("rules[1].when:", StringComparison.Ordinal));
    }

    [Fact]
    public void Rules_print_in_the_text_syntax()
    {
        var rule = AuthorizationPolicy.ParseText("[ops] deny role:ops destroy prod* * when actor.team=core").Rules.Single();
        Assert.Equal("ops: deny role:ops destroy prod* * when actor.team=core", rule.ToString());
        Assert.Equal(PolicyEffect.Deny, rule.Effect);
    }

    [Theory]
    [InlineData("prod*", "production", true)]
    [InlineData("prod*", "staging", false)]
    [InlineData("*-eu", "dev-eu", true)]
    [InlineData("dev-??", "dev-eu", true)]
    [InlineData("dev-??", "dev-eu1", false)]
    [InlineData("*", "", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    public void Globs_match_star_and_question_mark(string pattern, string value, bool expected)
        => Assert.Equal(expected, Glob.IsMatch(pattern, value, ignoreCase: true));
}
