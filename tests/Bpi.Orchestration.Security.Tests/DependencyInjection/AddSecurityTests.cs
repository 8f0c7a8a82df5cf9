using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Authorization;
using Bpi.Orchestration.Security.Gate;
using Bpi.Orchestration.Security.Monitoring;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Bpi.Orchestration.Security.Tests.DependencyInjection;

public sealed class AddSecurityTests
{
    [Fact]
    public void AddSecurity_replaces_the_allow_all_authorizer_and_plugs_in_the_gate()
    {
        var services = new ServiceCollection();
        services.AddOrchestration().AddInMemoryRuntime().AddSecurity();
        using var provider = services.BuildServiceProvider();
        Assert.IsType<PolicyAuthorizer>(provider.GetRequiredService<IOrchestrationAuthorizer>());
        Assert.IsType<SecurityGate>(provider.GetRequiredService<ISecurityGate>());
        Assert.NotNull(provider.GetRequiredService<ISecurityMonitor>());
        Assert.Contains(provider.GetServices<IHostedService>(), s => s is SecurityMonitor);
    }

    [Fact]
    public void The_assessment_follows_the_DockLock_defaults_the_Docker_runtime_applies_so_they_are_set_in_one_place()
    {
        var services = new ServiceCollection();
        services.AddOrchestration()
            .AddDocker(o =>
            {
                o.DefaultPidsLimit = 99;
                o.NonRootUser = "1000:1000";
                o.PublishAddress = "10.0.0.5";
                o.DefaultRestartPolicy = "on-failure:3";
            })
            .AddSecurity(o => o.DockLock.DefaultPidsLimit = 5);
        using var provider = services.BuildServiceProvider();
        var docklock = provider.GetRequiredService<SecurityAssessor>().Options.DockLock;
        Assert.Equal(99, docklock.DefaultPidsLimit);
        Assert.Equal("1000:1000", docklock.NonRootUser);
        Assert.Equal("10.0.0.5", docklock.PublishAddress);
        Assert.Equal("on-failure:3", docklock.DefaultRestartPolicy);
    }

    [Fact]
    public void Without_a_runtime_that_publishes_DockLock_defaults_the_security_options_keep_their_own()
    {
        var services = new ServiceCollection();
        services.AddOrchestration().AddInMemoryRuntime().AddSecurity(o => o.DockLock.DefaultPidsLimit = 5);
        using var provider = services.BuildServiceProvider();
        Assert.Equal(5, provider.GetRequiredService<SecurityAssessor>().Options.DockLock.DefaultPidsLimit);
    }

    [Fact]
    public void Invalid_options_of_both_kinds_are_listed_together_when_the_orchestrator_is_resolved()
    {
        var services = new ServiceCollection();
        services.AddOrchestration().AddInMemoryRuntime()
            .AddSecurity(o =>
            {
                o.DefaultPolicy.MinimumScore = 11;
                o.Environments["production"].AllowedRegistries.Add("bad registry");
                o.SecretNamePattern = "(";
                o.TrustedSigningKeys.Add("garbage");
                o.ReassessmentInterval = TimeSpan.Zero;
                o.ComplianceMappings.Add("{ not json");
            })
            .ConfigureAuthorization(o => o.PolicyTexts.Add("allow role:x fly * *"));
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<IOrchestrationVm>());
        var errors = error.Failures.ToList();
        Assert.Equal(typeof(SecurityOptions), error.OptionsType);
        Assert.Contains(errors, e => e.StartsWith("SecurityOptions.DefaultPolicy.MinimumScore: 11 is out of range; use ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SecurityOptions.Environments['production'].AllowedRegistries: 'bad registry' ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SecurityOptions.SecretNamePattern: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SecurityOptions.TrustedSigningKeys[0]: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SecurityOptions.ReassessmentInterval: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("SecurityOptions.ComplianceMappings[0]: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("AuthorizationOptions.PolicyTexts[0]: ", StringComparison.Ordinal) && e.Contains("'fly'", StringComparison.Ordinal));
    }

    [Fact]
    public void Requiring_signed_images_without_a_trusted_key_is_a_configuration_error()
    {
        var options = new SecurityOptions();
        options.Environments["production"].RequireSignedImages = true;
        var error = Assert.Single(SecurityOptionsValidator.Collect(options));
        Assert.Contains("TrustedSigningKeys is empty", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_generic_host_validates_the_options_at_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOrchestration().AddInMemoryRuntime().AddSecurity(o => o.DefaultPolicy.MinimumScore = -1);
        using var host = builder.Build();
        var problems = OptionsProblems.Of(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()), typeof(SecurityOptions));
        Assert.Equal(["SecurityOptions.DefaultPolicy.MinimumScore: -1 is out of range; use a score between 0 and 10."], problems);
    }
}
