using Bpi.Orchestration.Security.Runtime;

namespace Bpi.Orchestration.Security.Tests.Runtime;

public sealed class DockerInspectParserTests
{
    /// <summary>An abridged <c>docker inspect</c> of a container run with every unsafe option (Engine API v1.41 field names).</summary>
    private const string Unsafe = """
        [{
          "Id": "4f2a",
          "Name": "/legacy",
          "AppArmorProfile": "unconfined",
          "Config": {
            "User": "",
            "Image": "nginx:latest",
            "Env": ["PATH=/usr/bin", "DB_PASSWORD=hunter2", "API_TOKEN=abc"],
            "ExposedPorts": { "22/tcp": {}, "80/tcp": {} },
            "Labels": { "bpi.orchestration/component": "web" }
          },
          "HostConfig": {
            "Privileged": true,
            "CapAdd": ["CAP_SYS_ADMIN", "NET_RAW"],
            "CapDrop": null,
            "SecurityOpt": ["seccomp=unconfined", "apparmor=unconfined"],
            "ReadonlyRootfs": false,
            "Memory": 0,
            "NanoCpus": 0,
            "CpuQuota": 0,
            "PidsLimit": -1,
            "NetworkMode": "host",
            "PidMode": "host",
            "IpcMode": "host",
            "UTSMode": "host",
            "UsernsMode": "host",
            "Devices": [{ "PathOnHost": "/dev/mem", "PathInContainer": "/dev/mem", "CgroupPermissions": "rwm" }],
            "RestartPolicy": { "Name": "no", "MaximumRetryCount": 0 },
            "PortBindings": { "80/tcp": [{ "HostIp": "", "HostPort": "80" }] }
          },
          "Mounts": [
            { "Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/var/run/docker.sock", "RW": true, "Propagation": "rprivate" },
            { "Type": "bind", "Source": "/etc", "Destination": "/host/etc", "RW": false, "Propagation": "rshared" }
          ],
          "NetworkSettings": { "Ports": {} }
        }]
        """;

    [Fact]
    public void Every_unsafe_setting_of_an_inspected_container_is_read()
    {
        var p = DockerInspectParser.Parse(Unsafe);
        Assert.Equal("web", p.ComponentId);
        Assert.Equal(ProfileSource.Runtime, p.Source);
        Assert.True(p.Privileged);
        Assert.Equal(["SYS_ADMIN", "NET_RAW"], p.AddedCapabilities);
        Assert.False(p.DropsAllCapabilities);
        Assert.False(p.NoNewPrivileges);
        Assert.Equal("unconfined", p.SeccompProfile);
        Assert.Equal("unconfined", p.AppArmorProfile);
        Assert.Equal(0, p.PidsLimit);
        Assert.All(new[] { p.NetworkMode, p.PidMode, p.IpcMode, p.UtsMode, p.UsernsMode }, m => Assert.Equal("host", m));
        Assert.Equal(["/dev/mem"], p.Devices);
        Assert.Equal(new PublishedPort(80, "", 80), Assert.Single(p.PublishedPorts!));
        Assert.Equal([22, 80], p.ContainerPorts);
        Assert.Equal(["PATH", "DB_PASSWORD", "API_TOKEN"], p.PlainEnvironmentNames);
        Assert.False(p.HasHealthCheck);
    }

    [Fact]
    public void Environment_values_are_never_kept()
        => Assert.DoesNotContain("hunter2", DockerInspectParser.Parse(Unsafe).ToString(), StringComparison.Ordinal);

    [Fact]
    public async Task An_unsafe_running_container_fails_the_runtime_checks_and_scores_under_the_critical_cap()
    {
        using var assessor = TestSpecs.Assessor();
        var assessment = await assessor.AssessContainersAsync("legacy", "dep-1", null, [DockerInspectParser.Parse(Unsafe)]);
        var failed = assessment.Findings.Select(f => f.CheckId).ToHashSet();
        foreach (var id in new[] { "001", "002", "003", "004", "005", "006", "007", "008", "009", "010", "011", "012", "013", "014", "015", "016", "017", "018", "019", "020", "021", "022", "023", "024", "025", "026", "029", "030", "033" })
        {
            Assert.Contains("BPI-SEC-" + id, failed);
        }

        Assert.Equal(0, assessment.Score);
        Assert.Equal(CheckOutcome.NotApplicable, assessment.ResultOf("BPI-SEC-032")!.Outcome);
    }

    [Fact]
    public async Task Secrets_the_orchestrator_handed_over_are_not_plain_environment_findings()
    {
        using var assessor = TestSpecs.Assessor();
        var spec = TestSpecs.Hardened().WithComponent(c => c with { Secrets = new Dictionary<string, string> { ["DB_PASSWORD"] = "s", ["API_TOKEN"] = "t" } });
        var assessment = await assessor.AssessContainersAsync("legacy", "dep-1", spec, [DockerInspectParser.Parse(Unsafe)]);
        Assert.Equal(CheckOutcome.Passed, assessment.ResultOf("BPI-SEC-021")!.Outcome);
    }

    [Fact]
    public void Text_that_is_not_inspect_json_is_refused()
    {
        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, Assert.Throws<OrchestrationException>(() => DockerInspectParser.Parse("nope")).Kind);
        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, Assert.Throws<OrchestrationException>(() => DockerInspectParser.Parse("[1,2]")).Kind);
    }
}
