using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Security.Tests.Runtime;

[CollectionDefinition(Name)]
public sealed class SecurityDockerCollection : ICollectionFixture<DockerRuntimeFixture>
{
    public const string Name = "Security on the Docker Engine";
}

/// <summary>
/// The Docker runtime through its public interface only (as a host has it) with runtime inspection for the Security
/// package, over the shared engine fixture (<see cref="DockerEngineFixtureBase"/>: gate, images, owner sweep).
/// </summary>
public sealed class DockerRuntimeFixture() : DockerEngineFixtureBase("bpi-sec-test-")
{
    private ServiceProvider? _provider;

    /// <summary>The orchestrator's services: the Docker runtime with runtime inspection for the Security package.</summary>
    public IServiceProvider Services => _provider ??= CreateServices();

    public IDockerWorkloadRuntime Runtime => Services.GetRequiredService<IDockerWorkloadRuntime>();

    protected override bool Started => _provider is not null;

    /// <summary>A revision of a component of this run's owner, in a fresh deployment.</summary>
    public WorkloadRevision Revision(ComponentSpec component) => new()
    {
        OwnerId = OwnerId,
        DeploymentId = NewDeploymentId(),
        DeploymentName = "test",
        AppId = "bpi-test",
        Environment = "test",
        Revision = 1,
        Component = component,
    };

    /// <summary>An httpd component on the plain test image.</summary>
    public static ComponentSpec HttpComponent(string id = "web") => new()
    {
        Id = id,
        Image = TestImages.Plain,
        Ports = [new PortSpec { Name = "http", ContainerPort = TestImages.HttpPort }],
        Resources = new ComponentResources { CpuCores = 0.25, MemoryMb = 32 },
    };

    protected override async Task ImportImageAsync(Stream rootFilesystem, string repository, string tag, IReadOnlyList<string> changes)
        => await Services.GetRequiredService<IDockerImageImporter>().ImportImageAsync(rootFilesystem, repository, tag, changes);

    protected override async Task SweepAsync(IReadOnlyList<string> owners)
    {
        try
        {
            foreach (var owner in owners)
            {
                await Runtime.ReconcileAsync(owner, new HashSet<string>());
            }
        }
        catch (OrchestrationException)
        {
            // No engine: nothing was created.
        }
    }

    protected override async ValueTask DisposeEngineAsync() => await _provider!.DisposeAsync();

    private static ServiceProvider CreateServices()
    {
        var services = new ServiceCollection();
        services.AddOrchestration().AddDocker(o => o.StopTimeout = TimeSpan.FromSeconds(2)).AddRuntimeInspection();
        return services.BuildServiceProvider();
    }
}
