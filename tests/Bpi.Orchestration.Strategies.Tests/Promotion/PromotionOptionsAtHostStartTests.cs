using Bpi.Orchestration.Strategies.Promotion;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Promotion;

/// <summary>The options recipe: bad promotion options stop a generic host at start, every problem listed.</summary>
public sealed class PromotionOptionsAtHostStartTests
{
    [Fact]
    public async Task Promotion_options_with_two_problems_stop_the_host_at_start_listing_both()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddOrchestration().AddPromotion(o => o.Lifecycles.Add(new Lifecycle { Name = " ", Environments = [] }));
        using var host = builder.Build();

        var problems = OptionsProblems.Of(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()), typeof(PromotionOptions));

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, f => f.StartsWith("PromotionOptions.Lifecycles[0].Name: empty; ", StringComparison.Ordinal));
        Assert.Contains(problems, f => f.StartsWith("PromotionOptions.Lifecycles[0].Environments: empty; ", StringComparison.Ordinal));
    }
}
