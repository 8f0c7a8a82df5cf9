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
/// The Docker runtime through its public interface only (as a host has it), the test images, and an owner id of this
/// test run; disposing it removes whatever carries that owner.
/// </summary>
public sealed class DockerRuntimeFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _imagesGate = new(1, 1);
    private ServiceProvider? _provider;
    private bool _imagesBuilt;

    /// <summary>The owner label value of this test run.</summary>
    public string OwnerId { get; } = "bpi-sec-test-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>The orchestrator's services: the Docker runtime with runtime inspection for the Security package.</summary>
    public IServiceProvider Services => _provider ??= CreateServices();

    public IDockerWorkloadRuntime Runtime => Services.GetRequiredService<IDockerWorkloadRuntime>();

    /// <summary>Skips or fails (see <see cref="DockerTestEnvironment"/>) without an engine; builds the images once.</summary>
    public async Task RequireEngineAsync()
    {
        await DockerTestEnvironment.RequireEngineAsync();
        DockerTestEnvironment.RequirePrerequisite(TestImages.MissingPrerequisite);
        await _imagesGate.WaitAsync();
        try
        {
            if (!_imagesBuilt)
            {
                var images = Services.GetRequiredService<IDockerImageImporter>();
                await TestImages.BuildAsync(async (tar, repository, tag, changes) => await images.ImportImageAsync(tar, repository, tag, changes));
                _imagesBuilt = true;
            }
        }
        finally
        {
            _imagesGate.Release();
        }
    }

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

    public static string NewDeploymentId() => "dep-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>An httpd component on the plain test image.</summary>
    public static ComponentSpec HttpComponent(string id = "web") => new()
    {
        Id = id,
        Image = TestImages.Plain,
        Ports = [new PortSpec { Name = "http", ContainerPort = TestImages.HttpPort }],
        Resources = new ComponentResources { CpuCores = 0.25, MemoryMb = 32 },
    };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_provider is null)
        {
            return;
        }

        try
        {
            await Runtime.ReconcileAsync(OwnerId, new HashSet<string>());
        }
        catch (OrchestrationException)
        {
            // No engine: nothing was created.
        }

        await _provider.DisposeAsync();
        _imagesGate.Dispose();
    }

    private static ServiceProvider CreateServices()
    {
        var services = new ServiceCollection();
        services.AddOrchestration().AddDocker(o => o.StopTimeout = TimeSpan.FromSeconds(2)).AddRuntimeInspection();
        return services.BuildServiceProvider();
    }
}
