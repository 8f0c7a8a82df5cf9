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
/// Shared by the engine tests: a client, the test images, and an owner id of this test run. Everything tests create
/// carries that owner label, and disposing the fixture removes whatever is left (and checks nothing is).
/// </summary>
public sealed class DockerEngineFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _imagesGate = new(1, 1);
    private bool _imagesBuilt;
    private DockerEngineClient? _client;

    private readonly List<string> _extraOwners = [];

    /// <summary>The owner label value of this test run.</summary>
    public string OwnerId { get; } = "bpi-test-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Another owner id (for example a VM's id), swept like <see cref="OwnerId"/> when the fixture is disposed.</summary>
    public string NewOwnerId()
    {
        var owner = OwnerId + "-" + Guid.NewGuid().ToString("N")[..6];
        lock (_extraOwners)
        {
            _extraOwners.Add(owner);
        }

        return owner;
    }

    internal DockerEngineClient Client => _client ??= new DockerEngineClient(DockerEngineClientOptions.From(new DockerRuntimeOptions()), TimeProvider.System, NullLogger.Instance);

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
                await TestImages.BuildAsync((tar, repository, tag, changes) => Client.ImportImageAsync(tar, repository, tag, changes));
                _imagesBuilt = true;
            }
        }
        finally
        {
            _imagesGate.Release();
        }
    }

    internal DockerWorkloadRuntime CreateRuntime(Action<DockerRuntimeOptions>? configure = null, Bpi.Orchestration.Auditing.IAuditSink? audit = null)
    {
        var options = new DockerRuntimeOptions { StopTimeout = TimeSpan.FromSeconds(5) };
        configure?.Invoke(options);
        var client = new DockerEngineClient(DockerEngineClientOptions.From(options), TimeProvider.System, NullLogger.Instance);
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

    public static string NewDeploymentId() => "dep-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>An httpd component on the plain test image, serving <c>APP_VERSION</c>.</summary>
    public static ComponentSpec HttpComponent(string id = "web", string version = "v1", string image = TestImages.Plain) => new()
    {
        Id = id,
        Image = image,
        Ports = [new PortSpec { Name = "http", ContainerPort = TestImages.HttpPort }],
        Environment = new Dictionary<string, string> { ["APP_VERSION"] = version },
        Resources = new ComponentResources { CpuCores = 0.25, MemoryMb = 32 },
    };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_client is null)
        {
            return;
        }

        try
        {
            await using var runtime = new DockerWorkloadRuntime(_client, new DockerRuntimeOptions { StopTimeout = TimeSpan.FromSeconds(2) }, TimeProvider.System, NullLogger.Instance);
            foreach (var owner in _extraOwners.Append(OwnerId))
            {
                await runtime.ReconcileAsync(owner, new HashSet<string>());
            }
        }
        catch (OrchestrationException)
        {
            // No engine: nothing was created.
        }

        await _client.DisposeAsync();
        _imagesGate.Dispose();
    }
}
