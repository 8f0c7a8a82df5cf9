using Bpi.Orchestration.Security.Authorization;

namespace Bpi.Orchestration.Security.Tests.Authorization;

/// <summary>The JSON policy format refuses every mistake that would otherwise widen a rule (it failed open before).</summary>
public sealed class JsonPolicyStrictnessTests
{
    private static readonly OrchestrationActor Root = new() { Id = "root" };

    [Theory]
    [InlineData("""{"rules":[{}]}""", "rules[0] has no 'effect'")]
    [InlineData("""{"rules":[{}]}""", "rules[0] has no 'subjects'")]
    [InlineData("""{"rules":[{}]}""", "rules[0] has no 'verbs'")]
    [InlineData("""{"rules":[{"effect":"allow","subjects":[],"verbs":["deploy"]}]}""", "rules[0].subjects is empty; say [\"*\"]")]
    [InlineData("""{"rules":[{"effect":"allow","subjects":["*"],"verbs":[]}]}""", "rules[0].verbs is empty")]
    [InlineData("""{"rules":[{"effect":"allow","subjects":["*"],"verbs":["*"],"environments":[]}]}""", "rules[0].environments is empty")]
    [InlineData("""{"rules":[{"effect":"allow","subject":["user:alice"],"verbs":["deploy"]}]}""", "rules[0] has an unknown member 'subject' (did you mean 'subjects'?)")]
    [InlineData("""{"rules":[{"effect":"allow","subjects":["user:root"],"verb":["read"]}]}""", "rules[0] has an unknown member 'verb'")]
    [InlineData("""{"rules":[{"effect":"allow","subjects":["*"],"verbs":["*"],"environment":["staging"]}]}""", "rules[0] has an unknown member 'environment'")]
    [InlineData("""{"rules":[{"effect":"deny","effect":"allow","subjects":["*"],"verbs":["*"]}]}""", "rules[0] has 'effect' more than once")]
    [InlineData("""{"rules":[{"subjects":["*"],"verbs":["deploy"]}]}""", "rules[0] has no 'effect'; say \"effect\": \"allow\" or \"deny\"")]
    [InlineData("""{"rules":[{"effect":"allow","subjects":["*"],"verbs":["*"]}],"rules":[]}""", "the document has 'rules' more than once")]
    [InlineData("""{"rule":[{"effect":"allow","subjects":["*"],"verbs":["*"]}]}""", "the document has an unknown member 'rule'")]
    [InlineData("""{"rules":[{"effect":"allow","subjects":[null],"verbs":["*"]}]}""", "rules[0].subjects[0] is null")]
    [InlineData("""{"rules":[{"effect":"allow","subjects":"*","verbs":["*"]}]}""", "rules[0].subjects is a string")]
    [InlineData("""{"rules":[{"effect":true,"subjects":["*"],"verbs":["*"]}]}""", "rules[0].effect is a boolean")]
    [InlineData("""{"rules":["allow * * * *"]}""", "rules[0] is a string")]
    [InlineData("""[]""", "the document is a list")]
    [InlineData("""{}""", "the document has no 'rules' member")]
    public void Malformed_json_policies_are_refused_naming_the_member(string json, string expected)
    {
        var error = Assert.Throws<OrchestrationException>(() => AuthorizationPolicy.ParseJson(json));
        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains(error.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_problem_of_every_rule_is_listed_at_once()
    {
        var error = Assert.Throws<OrchestrationException>(() => AuthorizationPolicy.ParseJson("""
            {"rules": [
              {"effect": "allow", "subject": ["*"], "verbs": ["deploy"]},
              {"effect": "maybe", "subjects": ["*"], "verbs": []},
              {"effect": "deny", "effect": "deny", "subjects": ["*"], "verbs": ["read"], "when": ["moon=full"]}
            ]}
            """));
        Assert.Contains(error.Errors, e => e.StartsWith("rules[0] has an unknown member 'subject'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("rules[0] has no 'subjects'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("rules[1].effect is 'maybe'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("rules[1].verbs is empty", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("rules[2] has 'effect' more than once", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("rules[2].when:", StringComparison.Ordinal) && e.Contains("not understood", StringComparison.Ordinal));
        Assert.Equal(6, error.Errors.Count);
    }

    [Fact]
    public async Task A_well_formed_policy_still_reads_with_comments_trailing_commas_and_omitted_environments()
    {
        var policy = AuthorizationPolicy.ParseJson("""
            // who may do what
            {"rules": [
              {"name": "ops", "effect": "allow", "subjects": ["user:root"], "verbs": ["deploy", "read"], "apps": ["shop-*"],},
              {"effect": "DENY", "subjects": ["*"], "verbs": ["deploy"], "environments": ["production"], "when": ["score>=7"]},
            ]}
            """);
        Assert.Equal(["ops", "rules[1]"], policy.Rules.Select(r => r.Name));
        Assert.Equal(["*"], policy.Rules[0].Environments);
        Assert.True((await policy.DecideAsync(Request("deploy", "staging", "shop-web"))).Allowed);
        Assert.False((await policy.DecideAsync(Request("deploy", "staging", "other"))).Allowed);
        Assert.False((await policy.DecideAsync(Request("destroy", "staging", "shop-web"))).Allowed);
    }

    [Fact]
    public async Task An_empty_rule_list_denies_everything()
    {
        var policy = AuthorizationPolicy.ParseJson("""{"rules": []}""");
        Assert.False((await policy.DecideAsync(Request("deploy", "dev", "app"))).Allowed);
    }

    [Fact]
    public void The_options_report_a_malformed_json_policy_with_its_index()
    {
        var options = new AuthorizationOptions();
        options.PolicyJson.Add("""{"rules":[{}]}""");
        var error = Assert.Throws<OrchestrationException>(options.BuildPolicy);
        Assert.Contains(error.Errors, e => e.StartsWith("PolicyJson[0]: rules[0] has no 'effect'", StringComparison.Ordinal));
    }

    private static AuthorizationRequest Request(string verb, string environment, string app) => new(Root, verb, environment, app, null);
}
