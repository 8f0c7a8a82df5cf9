using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Audit.Tests.DependencyInjection;

/// <summary>The options recipe: bad audit store options stop a generic host at start, every problem listed.</summary>
public sealed class AuditOptionsAtHostStartTests
{
    [Fact]
    public async Task Audit_store_options_with_two_problems_stop_the_host_at_start_listing_both()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        new Builder(builder.Services).AddInMemoryAuditStore(o =>
        {
            o.Origin = "";
            o.CheckpointEveryEntries = -1;
        });
        using var host = builder.Build();

        var problems = Problems(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()));

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, f => f.StartsWith("Origin is empty", StringComparison.Ordinal));
        Assert.Contains(problems, f => f.StartsWith("CheckpointEveryEntries is -1", StringComparison.Ordinal));
    }

    /// <summary>Every problem the host reported: from options validation at start, or from a component that validated its options when the host built it.</summary>
    private static IReadOnlyList<string> Problems(Exception error) => error switch
    {
        OptionsValidationException options => [.. options.Failures],
        OrchestrationException { Kind: OrchestrationErrorKind.InvalidConfiguration } orchestration => orchestration.Errors,
        _ => throw new Xunit.Sdk.XunitException($"The host failed with {error.GetType().Name}, not with the options problems: {error}"),
    };

    private sealed class Builder(IServiceCollection services) : IOrchestrationBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
