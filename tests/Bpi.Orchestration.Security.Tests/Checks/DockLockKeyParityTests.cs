using Bpi.Orchestration.Components.Docker;

namespace Bpi.Orchestration.Security.Tests.CheckCatalog;

/// <summary>The Security package reads DockLock's keys without depending on the Docker runtime; this keeps the two in step.</summary>
public sealed class DockLockKeyParityTests
{
    [Fact]
    public void The_keys_read_from_specs_are_the_Docker_runtimes_keys()
    {
        Assert.Equal(DockLockSettings.NoNewPrivileges, ContainerProfiles.Keys.NoNewPrivileges);
        Assert.Equal(DockLockSettings.DropAllCapabilities, ContainerProfiles.Keys.DropAllCapabilities);
        Assert.Equal(DockLockSettings.AddCapabilities, ContainerProfiles.Keys.AddCapabilities);
        Assert.Equal(DockLockSettings.ReadOnlyRootFilesystem, ContainerProfiles.Keys.ReadOnlyRootFilesystem);
        Assert.Equal(DockLockSettings.NonRootUser, ContainerProfiles.Keys.NonRootUser);
        Assert.Equal(DockLockSettings.User, ContainerProfiles.Keys.User);
        Assert.Equal(DockLockSettings.PidsLimit, ContainerProfiles.Keys.PidsLimit);
        Assert.Equal(DockLockSettings.ResourceLimits, ContainerProfiles.Keys.ResourceLimits);
        Assert.Equal(DockLockSettings.RestartPolicy, ContainerProfiles.Keys.RestartPolicy);
        Assert.Equal(DockLockSettings.VolumePrefix, ContainerProfiles.Keys.VolumePrefix);
        Assert.Equal(DockLockSettings.ReasonSuffix, ContainerProfiles.Keys.ReasonSuffix);
    }

    [Fact]
    public void The_assumed_defaults_are_the_Docker_runtimes_defaults()
    {
        var runtime = new DockerRuntimeOptions();
        var assumed = new DockLockAssumptions();
        Assert.Equal(runtime.PublishAddress, assumed.PublishAddress);
        Assert.Equal(runtime.NonRootUser, assumed.NonRootUser);
        Assert.Equal(runtime.DefaultPidsLimit, assumed.DefaultPidsLimit);
        Assert.Equal(runtime.DefaultRestartPolicy, assumed.DefaultRestartPolicy);
    }
}
