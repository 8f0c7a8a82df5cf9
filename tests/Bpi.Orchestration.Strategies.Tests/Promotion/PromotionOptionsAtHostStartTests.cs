using Bpi.Orchestration.Strategies.Promotion;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
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

        var problems = Problems(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()));

        Assert.True(problems.Count >= 2, string.Join(" | ", problems));
        Assert.Contains(problems, f => f.Contains("name", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(problems, f => f.Contains("environments", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Every problem the host reported: from options validation at start, or from a component that validated its options when the host built it.</summary>
    private static IReadOnlyList<string> Problems(Exception error) => error switch
    {
        OptionsValidationException options => [.. options.Failures],
        OrchestrationException { Kind: OrchestrationErrorKind.InvalidConfiguration } orchestration => orchestration.Errors,
        _ => throw new Xunit.Sdk.XunitException($"The host failed with {error.GetType().Name}, not with the options problems: {error}"),
    };
}
