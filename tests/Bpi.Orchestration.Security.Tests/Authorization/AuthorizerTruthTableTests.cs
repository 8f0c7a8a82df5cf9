using Bpi.Orchestration.Security.Authorization;
using Bpi.Orchestration.Security.Telemetry;
using Bpi.Orchestration.Testing;

namespace Bpi.Orchestration.Security.Tests.Authorization;

public sealed class AuthorizerTruthTableTests
{
    private const string Policy = """
        # effect subjects            verbs                    environments   apps
        allow   role:developer      deploy,update,read,scale dev*,staging   *
        deny    role:developer      destroy                  *              *
        [prod-deploy] allow role:admin deploy,update,rollback production *   when score>=7
        allow   role:admin          read,destroy,scale       *              *
        [four-eyes] allow role:approver approve              *              *   when approver!=requester
        allow   user:ci-bot         deploy                   staging        shop-*
        [freeze] deny *             deploy,update            production     payments
        allow   role:team-lead      pause,resume,abort       *              *   when actor.team=shop
        """;

    private static readonly OrchestrationActor Developer = new() { Id = "dana", Roles = ["developer"] };
    private static readonly OrchestrationActor Admin = new() { Id = "alice", Roles = ["admin"] };
    private static readonly OrchestrationActor AdminDeveloper = new() { Id = "ada", Roles = ["admin", "developer"] };
    private static readonly OrchestrationActor Approver = new() { Id = "paul", Roles = ["approver"] };
    private static readonly OrchestrationActor CiBot = new() { Id = "ci-bot" };
    private static readonly OrchestrationActor Lead = new() { Id = "lee", Roles = ["team-lead"], Attributes = new Dictionary<string, string> { ["team"] = "shop" } };
    private static readonly OrchestrationActor OtherLead = new() { Id = "lou", Roles = ["team-lead"], Attributes = new Dictionary<string, string> { ["team"] = "ops" } };
    private static readonly OrchestrationActor Nobody = new() { Id = "eve" };

    public static TheoryData<string, OrchestrationActor, string, string?, string?, bool, string> Table() => new()
    {
        // allow by role, environment glob and app glob
        { "developer deploys to dev", Developer, "deploy", "dev-eu", "shop", true, "policy:2" },
        { "developer deploys to staging", Developer, "deploy", "staging", "shop", true, "policy:2" },
        // default deny: no rule matches
        { "developer deploys to production", Developer, "deploy", "production", "shop", false, AuthorizationPolicy.DefaultDenyRule },
        { "unknown actor reads", Nobody, "read", "staging", "shop", false, AuthorizationPolicy.DefaultDenyRule },
        { "developer promotes (verb not granted)", Developer, "promote", "staging", "shop", false, AuthorizationPolicy.DefaultDenyRule },
        // explicit deny
        { "developer destroys", Developer, "destroy", "dev", "shop", false, "policy:3" },
        // deny wins over an allow of another role of the same actor
        { "admin-developer destroys", AdminDeveloper, "destroy", "dev", "shop", false, "policy:3" },
        { "admin destroys", Admin, "destroy", "dev", "shop", true, "policy:5" },
        // deny wins over an allow whose condition holds
        { "admin deploys payments during the freeze", Admin, "deploy", "production", "payments", false, "freeze" },
        // user subjects and app globs
        { "ci-bot deploys shop-web to staging", CiBot, "deploy", "staging", "shop-web", true, "policy:7" },
        { "ci-bot deploys billing to staging", CiBot, "deploy", "staging", "billing", false, AuthorizationPolicy.DefaultDenyRule },
        // '*' environments match VM-wide reads without an environment; a named environment does not
        { "admin lists everything", Admin, "read", null, null, true, "policy:5" },
        { "developer lists everything", Developer, "read", null, null, false, AuthorizationPolicy.DefaultDenyRule },
        // attribute conditions
        { "lead of the team pauses", Lead, "pause", "production", "shop", true, "policy:9" },
        { "lead of another team pauses", OtherLead, "pause", "production", "shop", false, AuthorizationPolicy.DefaultDenyRule },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public async Task Decision_follows_the_truth_table(string because, OrchestrationActor actor, string verb, string? environment, string? app, bool allowed, string rule)
    {
        var decision = await AuthorizationPolicy.ParseText(Policy).DecideAsync(new AuthorizationRequest(actor, verb, environment, app, null));
        Assert.True(allowed == decision.Allowed, $"{because}: expected {(allowed ? "allow" : "deny")}, got {decision}");
        Assert.Equal(rule, decision.Rule);
    }

    [Theory]
    [InlineData("8.5", true)]
    [InlineData("7", true)]
    [InlineData("6.9", false)]
    public async Task Minimum_score_condition_decides_production_deploys(string score, bool allowed)
    {
        var request = new AuthorizationRequest(Admin, "deploy", "production", "shop", null) { Attributes = new Dictionary<string, string> { ["securityScore"] = score } };
        var decision = await AuthorizationPolicy.ParseText(Policy).DecideAsync(request);
        Assert.Equal(allowed, decision.Allowed);
        Assert.Equal(allowed ? "prod-deploy" : AuthorizationPolicy.DefaultDenyRule, decision.Rule);
        if (!allowed)
        {
            Assert.Contains("score>=7 does not hold", decision.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Minimum_score_condition_is_not_met_when_the_score_is_unknown()
        => Assert.False((await AuthorizationPolicy.ParseText(Policy).DecideAsync(new AuthorizationRequest(Admin, "deploy", "production", "shop", null))).Allowed);

    [Theory]
    [InlineData("dana", true)]
    [InlineData("paul", false)]
    [InlineData("", false)]
    public async Task Approver_must_not_be_the_requester(string requester, bool allowed)
    {
        var request = new AuthorizationRequest(Approver, "approve", "production", "shop", "web-1") { Attributes = new Dictionary<string, string> { ["requester"] = requester } };
        Assert.Equal(allowed, (await AuthorizationPolicy.ParseText(Policy).DecideAsync(request)).Allowed);
    }

    [Fact]
    public async Task An_empty_policy_denies_everything_including_the_system_actor()
    {
        var policy = new AuthorizationPolicy([]);
        foreach (var verb in new[] { "deploy", "read", "destroy" })
        {
            var decision = await policy.DecideAsync(new AuthorizationRequest(OrchestrationActor.System, verb, "dev", "shop", null));
            Assert.False(decision.Allowed);
            Assert.Equal(AuthorizationPolicy.DefaultDenyRule, decision.Rule);
        }
    }

    [Fact]
    public async Task With_the_Security_package_the_orchestrator_denies_by_default_and_audits_the_rule()
    {
        await using var host = new SecurityTestHost(authorization: _ => { });
        using var scope = OrchestrationActor.BeginScope(Developer);
        var error = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(TestSpecs.Hardened()));
        Assert.Equal(OrchestrationErrorKind.Unauthorized, error.Kind);
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "authorization.deploy" && e.Outcome == "denied" && e.Data!["rule"] == AuthorizationPolicy.DefaultDenyRule);
    }

    [Fact]
    public async Task Allowed_decisions_reach_the_audit_trail_with_the_rule_that_decided()
    {
        await using var host = new SecurityTestHost(authorization: o => o.PolicyTexts.Add("[devs] allow role:developer deploy,read staging *"));
        using var scope = OrchestrationActor.BeginScope(Developer);
        var id = await host.Vm.DeployAsync(TestSpecs.Hardened());
        var entry = Assert.Single(host.Audit.Snapshot(), e => e.Action == "authorization.deploy");
        Assert.Equal("allowed", entry.Outcome);
        Assert.Equal("dana", entry.Actor);
        Assert.Equal("devs", entry.Data!["rule"]);
        Assert.NotNull(id);
    }

    [Fact]
    public async Task The_specs_own_role_list_narrows_what_the_policy_allows()
    {
        await using var host = new SecurityTestHost(authorization: o => o.PolicyTexts.Add("allow * * * *"));
        var spec = TestSpecs.Hardened() with
        {
            Infrastructure = TestSpecs.Hardened().Infrastructure with
            {
                Security = TestSpecs.Hardened().Infrastructure.Security with { AccessControl = new AccessControlConfig { Roles = ["admin", "developer"] } },
            },
        };
        using (OrchestrationActor.BeginScope(Nobody))
        {
            var error = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(spec));
            Assert.Contains(PolicyAuthorizer.SpecAccessControlRule, error.Message, StringComparison.Ordinal);
        }

        using (OrchestrationActor.BeginScope(Developer))
        {
            var id = await host.Vm.DeployAsync(spec);
            using (OrchestrationActor.BeginScope(Nobody))
            {
                // The deployment's stored spec restricts later operations too.
                var error = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.GetStatusAsync(id));
                Assert.Equal(OrchestrationErrorKind.Unauthorized, error.Kind);
            }
        }
    }

    [Fact]
    public async Task Score_conditions_use_the_assessment_of_the_spec_being_deployed()
    {
        await using var host = new SecurityTestHost(authorization: o => o.PolicyTexts.Add("[safe-only] allow role:developer deploy staging * when score>=9.5"));
        using var scope = OrchestrationActor.BeginScope(Developer);
        await host.Vm.DeployAsync(TestSpecs.Hardened());
        var risky = TestSpecs.Hardened().WithComponent(c => c.WithSettings((DockLockSettings.NonRootUser, "false"), (DockLockSettings.NonRootUser + ".reason", "legacy"))) with { Name = "other" };
        var error = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(risky));
        Assert.Equal(OrchestrationErrorKind.Unauthorized, error.Kind);
        Assert.Contains("score>=9.5", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rules_from_code_and_json_combine_and_deny_still_wins()
    {
        var options = new AuthorizationOptions();
        options.Rules.Add(new AuthorizationRule { Name = "code-allow", Subjects = ["role:developer"], Verbs = ["deploy"] });
        options.PolicyJson.Add("""{ "rules": [ { "name": "json-deny", "effect": "deny", "subjects": ["*"], "verbs": ["deploy"], "environments": ["production"] } ] }""");
        var policy = options.BuildPolicy();
        Assert.True((await policy.DecideAsync(new AuthorizationRequest(Developer, "deploy", "staging", "shop", null))).Allowed);
        var denied = await policy.DecideAsync(new AuthorizationRequest(Developer, "deploy", "production", "shop", null));
        Assert.False(denied.Allowed);
        Assert.Equal("json-deny", denied.Rule);
    }
}
