using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Security.Tests.DependencyInjection;

public sealed class DenyAllPolicyTests
{
    private static IReadOnlyList<string> WarningsWhenResolved(Action<Bpi.Orchestration.Security.Authorization.AuthorizationOptions>? configure)
    {
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddProvider(logs));
        var builder = services.AddOrchestration().AddInMemoryRuntime().AddSecurity();
        if (configure is not null)
        {
            builder.ConfigureAuthorization(configure);
        }

        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IOrchestrationVm>();
        return [.. logs.Messages.Where(m => m.Contains(" 4090 ", StringComparison.Ordinal))];
    }

    [Fact]
    public void A_policy_with_no_rule_is_flagged_when_the_orchestrator_is_built()
        => Assert.Contains("every operation will be denied", Assert.Single(WarningsWhenResolved(null)), StringComparison.Ordinal);

    [Fact]
    public void A_policy_of_deny_rules_only_is_flagged()
        => Assert.Contains("(1 rule(s), all deny)", Assert.Single(WarningsWhenResolved(o => o.PolicyTexts.Add("deny * * production *"))), StringComparison.Ordinal);

    [Fact]
    public void A_policy_that_allows_something_is_not_flagged()
        => Assert.Empty(WarningsWhenResolved(o => o.PolicyTexts.Add("allow role:deployer * * *")));
}
