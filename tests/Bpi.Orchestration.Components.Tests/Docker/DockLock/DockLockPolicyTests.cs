using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.DockLock;

namespace Bpi.Orchestration.Components.Tests.Docker.DockLock;

public sealed class DockLockPolicyTests
{
    private static readonly DockerRuntimeOptions Options = new();

    [Fact]
    public void Every_default_is_locked_down_when_nothing_is_relaxed()
    {
        var policy = DockLockPolicy.Resolve(Component(), Options);
        var host = policy.ToHostConfig(new ComponentResources { CpuCores = 0.5, MemoryMb = 128 }, Options);

        Assert.Equal(["no-new-privileges:true"], host.SecurityOpt);
        Assert.Equal(["ALL"], host.CapDrop);
        Assert.Null(host.CapAdd);
        Assert.True(host.ReadonlyRootfs);
        Assert.Equal("rw,noexec,nosuid,nodev,size=64m", host.Tmpfs!["/tmp"]);
        Assert.Equal(256, host.PidsLimit);
        Assert.Equal(500_000_000, host.NanoCPUs);
        Assert.Equal(128L * 1024 * 1024, host.Memory);
        Assert.Equal(host.Memory, host.MemorySwap);
        Assert.False(host.Privileged);
        Assert.Equal(global::Docker.DotNet.Models.RestartPolicyKind.No, host.RestartPolicy!.Name);
        Assert.Empty(policy.Settings.Relaxations);
    }

    [Theory]
    [InlineData(null, "65534:65534")]
    [InlineData("", "65534:65534")]
    [InlineData("root", "65534:65534")]
    [InlineData("0:0", "65534:65534")]
    [InlineData("app", null)]
    [InlineData("1000:1000", null)]
    public void A_non_root_user_is_chosen_unless_the_image_already_names_one(string? imageUser, string? expected)
    {
        var policy = DockLockPolicy.Resolve(Component(), Options);

        Assert.Equal(expected, policy.ResolveUser(imageUser, Options));
    }

    [Fact]
    public void Each_default_can_be_relaxed_with_a_reason_and_the_relaxations_are_listed()
    {
        var policy = DockLockPolicy.Resolve(Component(new()
        {
            [DockLockSettings.ReadOnlyRootFilesystem] = "false",
            [DockLockSettings.ReadOnlyRootFilesystem + ".reason"] = "writes its cache under /var/cache",
            [DockLockSettings.NoNewPrivileges] = "false",
            [DockLockSettings.NoNewPrivileges + ".reason"] = "needs setuid ping",
            [DockLockSettings.DropAllCapabilities] = "false",
            [DockLockSettings.DropAllCapabilities + ".reason"] = "vendor image",
            [DockLockSettings.NonRootUser] = "false",
            [DockLockSettings.NonRootUser + ".reason"] = "binds port 80 as root",
            [DockLockSettings.PidsLimit] = "unlimited",
            [DockLockSettings.PidsLimit + ".reason"] = "forks per request",
            [DockLockSettings.ResourceLimits] = "false",
            [DockLockSettings.ResourceLimits + ".reason"] = "benchmark host",
        }), Options);
        var host = policy.ToHostConfig(new ComponentResources(), Options);

        Assert.Null(host.SecurityOpt);
        Assert.Null(host.CapDrop);
        Assert.False(host.ReadonlyRootfs);
        Assert.Null(host.Tmpfs);
        Assert.Equal(-1, host.PidsLimit);
        Assert.Equal(0, host.Memory);
        Assert.Equal(0, host.NanoCPUs);
        Assert.Null(policy.ResolveUser(null, Options));
        Assert.Equal(6, policy.Settings.Relaxations.Count);
        Assert.Contains(policy.Settings.Relaxations, r => r.Setting == DockLockSettings.ReadOnlyRootFilesystem && r.Reason == "writes its cache under /var/cache");
    }

    [Fact]
    public void A_relaxation_without_a_reason_is_invalid_configuration_and_every_problem_is_listed()
    {
        var error = Assert.Throws<OrchestrationException>(() => DockLockPolicy.Resolve(Component(new()
        {
            [DockLockSettings.ReadOnlyRootFilesystem] = "false",
            [DockLockSettings.NoNewPrivileges] = "false",
            [DockLockSettings.NoNewPrivileges + ".reason"] = "   ",
            [DockLockSettings.PidsLimit] = "unlimited",
        }), Options));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Equal(3, error.Errors.Count);
        Assert.Contains(error.Errors, e => e.Contains("'docklock.readOnlyRootFilesystem.reason'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("'docklock.noNewPrivileges.reason'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("'docklock.pidsLimit.reason'", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_keys_malformed_values_and_orphan_reasons_are_all_reported()
    {
        var error = Assert.Throws<OrchestrationException>(() => DockLockPolicy.Resolve(Component(new()
        {
            ["docklock.readOnlyRootFs"] = "false",
            [DockLockSettings.NoNewPrivileges] = "no",
            [DockLockSettings.DropAllCapabilities + ".reason"] = "nothing is relaxed",
            [DockLockSettings.AddCapabilities] = "NET_BIND_SERVICE, ALL, bad-cap",
            [DockLockSettings.User] = "0",
            [DockLockSettings.PidsLimit] = "-5",
            [DockLockSettings.RestartPolicy] = "sometimes",
            [DockLockSettings.VolumePrefix + "Data"] = "relative/path",
            ["process.workingDirectory"] = "/srv",
        }), Options));

        Assert.Equal(10, error.Errors.Count);
        Assert.Contains(error.Errors, e => e.Contains("['docklock.readOnlyRootFs'] is not a DockLock setting", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("use 'true' or 'false'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("relaxes nothing", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("adds ALL capabilities", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("'bad-cap', which is not a capability name", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("which is root", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("'-5'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("'sometimes'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("names volume 'Data'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("give an absolute path", StringComparison.Ordinal));
    }

    [Fact]
    public void Capabilities_can_be_added_explicitly_without_a_reason()
    {
        var policy = DockLockPolicy.Resolve(Component(new() { [DockLockSettings.AddCapabilities] = "net_bind_service,CAP_CHOWN,NET_BIND_SERVICE" }), Options);

        Assert.Equal(["NET_BIND_SERVICE", "CHOWN"], policy.Settings.AddCapabilities);
        Assert.Equal(["ALL"], policy.ToHostConfig(new ComponentResources(), Options).CapDrop);
        Assert.Empty(policy.Settings.Relaxations);
    }

    [Fact]
    public void Cpu_and_memory_limits_are_required_while_resource_limits_are_enforced()
    {
        var error = Assert.Throws<OrchestrationException>(() => DockLockPolicy.Resolve(
            Component() with { Resources = new ComponentResources { CpuCores = 0, MemoryMb = 0 } }, Options));

        Assert.Equal(2, error.Errors.Count);
    }

    [Theory]
    [InlineData("no", "no", 0)]
    [InlineData("on-failure", "on-failure", 0)]
    [InlineData("on-failure:5", "on-failure", 5)]
    [InlineData("unless-stopped", "unless-stopped", 0)]
    [InlineData("ALWAYS", "always", 0)]
    public void Restart_policies_are_parsed(string text, string name, int retries)
    {
        var policy = DockLockPolicy.Resolve(Component(new() { [DockLockSettings.RestartPolicy] = text }), Options);

        Assert.Equal(name, DockLockPolicy.RestartWord(policy.RestartPolicy.Name));
        Assert.Equal(retries, policy.RestartPolicy.MaximumRetryCount);
    }

    [Fact]
    public void Named_volumes_are_parsed_with_their_mount_mode()
    {
        var policy = DockLockPolicy.Resolve(Component(new()
        {
            [DockLockSettings.VolumePrefix + "data"] = "/var/lib/app",
            [DockLockSettings.VolumePrefix + "config"] = "/etc/app:ro",
        }), Options);

        Assert.Equal([new DockLockVolume("config", "/etc/app", true), new DockLockVolume("data", "/var/lib/app", false)], policy.Settings.Volumes);
    }

    private static ComponentSpec Component(Dictionary<string, string>? settings = null) => new()
    {
        Id = "web",
        Image = "bpi-test/busybox:plain",
        RuntimeSettings = settings ?? [],
    };
}
