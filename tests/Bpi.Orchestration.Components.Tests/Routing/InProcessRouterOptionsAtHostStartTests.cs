using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
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

        var problems = Problems(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()));

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, f => f.StartsWith("ListenAddress:", StringComparison.Ordinal));
        Assert.Contains(problems, f => f.StartsWith("ConnectTimeout:", StringComparison.Ordinal));
    }

    /// <summary>Every problem the host reported: from options validation at start, or from a component that validated its options when the host built it.</summary>
    private static IReadOnlyList<string> Problems(Exception error) => error switch
    {
        OptionsValidationException options => [.. options.Failures],
        OrchestrationException { Kind: OrchestrationErrorKind.InvalidConfiguration } orchestration => orchestration.Errors,
        _ => throw new Xunit.Sdk.XunitException($"The host failed with {error.GetType().Name}, not with the options problems: {error}"),
    };
}
