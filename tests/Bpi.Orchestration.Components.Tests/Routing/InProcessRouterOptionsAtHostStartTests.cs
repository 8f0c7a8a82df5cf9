using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Routing;

/// <summary>The options recipe: bad router options stop a generic host at start, every problem listed.</summary>
public sealed class InProcessRouterOptionsAtHostStartTests
{
    [Fact]
    public async Task Router_options_with_two_problems_stop_the_host_at_start_listing_both()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddOrchestration().AddInProcessRouter(o =>
        {
            o.ListenAddress = "not-an-ip";
            o.ConnectTimeout = TimeSpan.Zero;
        });
        using var host = builder.Build();

        var problems = OptionsProblems.Of(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()), typeof(Bpi.Orchestration.Routing.InProcessRouterOptions));

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, f => f.StartsWith("InProcessRouterOptions.ListenAddress: 'not-an-ip' is not an IP address; ", StringComparison.Ordinal));
        Assert.Contains(problems, f => f.StartsWith("InProcessRouterOptions.ConnectTimeout: 00:00:00 is not positive; ", StringComparison.Ordinal));
    }
}
