using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

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

        var problems = OptionsProblems.Of(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()), typeof(InMemoryAuditStoreOptions));

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, f => f.StartsWith("InMemoryAuditStoreOptions.Origin: empty; ", StringComparison.Ordinal));
        Assert.Contains(problems, f => f.StartsWith("InMemoryAuditStoreOptions.CheckpointEveryEntries: -1 is negative; use ", StringComparison.Ordinal));
    }

    private sealed class Builder(IServiceCollection services) : IOrchestrationBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
