using Bpi.Orchestration.Components.Docker;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Configuration.Tests.Compose;

[CollectionDefinition(Name)]
public sealed class ComposeEngineCollection : ICollectionFixture<ComposeEngineFixture>
{
    public const string Name = "Compose files on the Docker Engine";
}

/// <summary>
/// Compose deployments on the real engine through the Docker runtime's public registration only (<c>AddDocker()</c>),
/// over the shared engine fixture (<see cref="DockerEngineFixtureBase"/>: gate, test images, owner sweep). Each test
/// runs its own orchestrator with its own owner id, so only what the tests created is ever removed.
/// </summary>
public sealed class ComposeEngineFixture() : DockerEngineFixtureBase("bpi-compose-test-")
{
    private ServiceProvider? _importer;

    protected override bool Started => _importer is not null;

    /// <summary>A started orchestrator on Docker (with the strategies) whose owner id is swept when the fixture ends.</summary>
    public async Task<ServiceProvider> StartOrchestratorAsync()
    {
        var owner = NewOwnerId();
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = owner).AddDocker(o => o.StopTimeout = TimeSpan.FromSeconds(2)).AddStrategies();
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IOrchestrationVm>().StartAsync();
        return provider;
    }

    protected override async Task ImportImageAsync(Stream rootFilesystem, string repository, string tag, IReadOnlyList<string> changes)
        => await Importer().GetRequiredService<IDockerImageImporter>().ImportImageAsync(rootFilesystem, repository, tag, changes);

    protected override async Task SweepAsync(IReadOnlyList<string> owners)
    {
        try
        {
            var runtime = Importer().GetRequiredService<IDockerWorkloadRuntime>();
            foreach (var owner in owners)
            {
                await runtime.ReconcileAsync(owner, new HashSet<string>());
            }
        }
        catch (OrchestrationException)
        {
            // No engine: nothing was created.
        }
    }

    protected override async ValueTask DisposeEngineAsync() => await _importer!.DisposeAsync();

    private ServiceProvider Importer()
    {
        if (_importer is null)
        {
            var services = new ServiceCollection();
            services.AddOrchestration().AddDocker();
            _importer = services.BuildServiceProvider();
        }

        return _importer;
    }
}
