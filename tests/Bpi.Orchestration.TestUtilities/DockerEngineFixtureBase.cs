using Xunit;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// What every fixture of tests on the real Docker Engine shares: the engine gate (<see cref="DockerTestEnvironment"/>),
/// the test images built once per fixture (<see cref="TestImages"/>), the owner ids of this test run, and the sweep of
/// whatever carries them when the fixture is disposed. A test project derives it with how it reaches the engine (its
/// runtime's public image import, or the engine client) — this library depends on no package of the SDK.
/// </summary>
public abstract class DockerEngineFixtureBase : IAsyncLifetime
{
    private readonly SemaphoreSlim _imagesGate = new(1, 1);
    private readonly List<string> _extraOwners = [];
    private bool _imagesBuilt;

    /// <summary>Starts a test run whose owner id begins with <paramref name="ownerPrefix"/>.</summary>
    /// <param name="ownerPrefix">For example <c>bpi-test-</c>.</param>
    protected DockerEngineFixtureBase(string ownerPrefix) => OwnerId = ownerPrefix + Guid.NewGuid().ToString("N")[..10];

    /// <summary>The owner label value of this test run.</summary>
    public string OwnerId { get; }

    /// <summary>Every owner id of this run: <see cref="OwnerId"/> and each <see cref="NewOwnerId"/>.</summary>
    protected IReadOnlyList<string> Owners
    {
        get
        {
            lock (_extraOwners)
            {
                return [.. _extraOwners, OwnerId];
            }
        }
    }

    /// <summary>Whether the fixture reached for the engine (so there may be something to sweep).</summary>
    protected abstract bool Started { get; }

    /// <summary>A fresh deployment id.</summary>
    public static string NewDeploymentId() => "dep-" + Guid.NewGuid().ToString("N")[..10];

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

    /// <summary>Skips or fails (see <see cref="DockerTestEnvironment"/>) without an engine; builds the test images once.</summary>
    public async Task RequireEngineAsync()
    {
        await DockerTestEnvironment.RequireEngineAsync();
        DockerTestEnvironment.RequirePrerequisite(TestImages.MissingPrerequisite);
        await _imagesGate.WaitAsync();
        try
        {
            if (!_imagesBuilt)
            {
                await TestImages.BuildAsync(ImportImageAsync);
                _imagesBuilt = true;
            }
        }
        finally
        {
            _imagesGate.Release();
        }
    }

    /// <inheritdoc />
    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Removes whatever carries <see cref="Owners"/>, then releases the engine connection.</summary>
    public async Task DisposeAsync()
    {
        if (Started)
        {
            await SweepAsync(Owners);
            await DisposeEngineAsync();
        }

        _imagesGate.Dispose();
    }

    /// <summary>Imports one test image (root filesystem tar, repository, tag, Dockerfile changes).</summary>
    protected abstract Task ImportImageAsync(Stream rootFilesystem, string repository, string tag, IReadOnlyList<string> changes);

    /// <summary>Removes every container, network and volume of these owners; nothing when no engine answers.</summary>
    protected abstract Task SweepAsync(IReadOnlyList<string> owners);

    /// <summary>Releases the engine connection (a client or a service provider).</summary>
    protected abstract ValueTask DisposeEngineAsync();
}
