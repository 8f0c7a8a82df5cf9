using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Components.Tests.Infrastructure;

/// <summary>The collection of tests that run against the real engine; they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class DockerEngineCollection : ICollectionFixture<DockerEngineFixture>
{
    public const string Name = "Docker Engine";
}

/// <summary>
/// Shared by the engine tests: the engine client and runtimes built on it, over the shared engine fixture
/// (<see cref="DockerEngineFixtureBase"/>: gate, test images, owner ids). Everything tests create carries an owner of
/// this run, and disposing the fixture removes whatever is left.
/// </summary>
public sealed class DockerEngineFixture() : DockerEngineFixtureBase("bpi-test-")
{
    private DockerEngine? _client;

    internal DockerEngine Client => _client ??= new DockerEngine(DockerEngineOptions.From(new DockerRuntimeOptions()), TimeProvider.System, NullLogger.Instance);

    protected override bool Started => _client is not null;

    internal DockerWorkloadRuntime CreateRuntime(Action<DockerRuntimeOptions>? configure = null, Bpi.Orchestration.Auditing.IAuditSink? audit = null)
    {
        var options = new DockerRuntimeOptions { StopTimeout = TimeSpan.FromSeconds(5) };
        configure?.Invoke(options);
        var client = new DockerEngine(DockerEngineOptions.From(options), TimeProvider.System, NullLogger.Instance);
        return new DockerWorkloadRuntime(client, options, TimeProvider.System, NullLogger.Instance, audit, ownsClient: true);
    }

    /// <summary>A revision of a component of this run's owner, in a fresh deployment unless one is given.</summary>
    public WorkloadRevision Revision(ComponentSpec component, int revision = 1, string? deploymentId = null) => new()
    {
        OwnerId = OwnerId,
        DeploymentId = deploymentId ?? NewDeploymentId(),
        DeploymentName = "test",
        AppId = "bpi-test",
        Environment = "test",
        Revision = revision,
        Component = component,
    };

    /// <summary>An httpd component on the plain test image, serving <c>APP_VERSION</c>.</summary>
    public static ComponentSpec HttpComponent(string id = "web", string version = "v1", string image = TestImages.Plain) => new()
    {
        Id = id,
        Image = image,
        Ports = [new PortSpec { Name = "http", ContainerPort = TestImages.HttpPort }],
        Environment = new Dictionary<string, string> { ["APP_VERSION"] = version },
        Resources = new ComponentResources { CpuCores = 0.25, MemoryMb = 32 },
    };

    protected override Task ImportImageAsync(Stream rootFilesystem, string repository, string tag, IReadOnlyList<string> changes)
        => Client.ImportImageAsync(rootFilesystem, repository, tag, changes);

    protected override async Task SweepAsync(IReadOnlyList<string> owners)
    {
        try
        {
            await using var runtime = new DockerWorkloadRuntime(Client, new DockerRuntimeOptions { StopTimeout = TimeSpan.FromSeconds(2) }, TimeProvider.System, NullLogger.Instance);
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

    protected override async ValueTask DisposeEngineAsync() => await _client!.DisposeAsync();
}
