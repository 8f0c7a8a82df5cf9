using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Bpi.Orchestration.Tests.DependencyInjection;

/// <summary>The options recipe: bad options stop a generic host at start, every problem listed.</summary>
public sealed class OptionsAtHostStartTests
{
    [Fact]
    public async Task Orchestration_options_with_two_problems_stop_the_host_at_start_listing_both()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddOrchestration(o =>
        {
            o.MaxConcurrentDeployments = 0;
            o.RolloutHistoryLimit = 0;
        });
        using var host = builder.Build();

        var problems = OptionsProblems.Of(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()), typeof(OrchestrationOptions));

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, f => f.StartsWith("OrchestrationOptions.MaxConcurrentDeployments: 0 is less than 1; ", StringComparison.Ordinal));
        Assert.Contains(problems, f => f.StartsWith("OrchestrationOptions.RolloutHistoryLimit: 0 is less than 1; ", StringComparison.Ordinal));
    }
}
