using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Bpi.Orchestration.Security.Tests.DependencyInjection;

/// <summary>The options recipe: bad security options stop a generic host at start, every problem listed.</summary>
public sealed class SecurityOptionsAtHostStartTests
{
    [Fact]
    public async Task Security_options_with_two_problems_stop_the_host_at_start_listing_both()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddOrchestration().AddSecurity(o =>
        {
            o.SecretNamePattern = "";
            o.Environments["production"] = null!;
        });
        using var host = builder.Build();

        var problems = OptionsProblems.Of(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()), typeof(SecurityOptions));

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, f => f.StartsWith("SecurityOptions.SecretNamePattern: empty, ", StringComparison.Ordinal));
        Assert.Contains(problems, f => f.StartsWith("SecurityOptions.Environments['production']: null; ", StringComparison.Ordinal));
    }
}
