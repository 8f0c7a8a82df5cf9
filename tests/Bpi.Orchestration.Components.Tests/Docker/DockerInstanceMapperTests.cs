using Bpi.Orchestration.Components.Docker;
using Docker.DotNet.Models;
using ContainerState = Docker.DotNet.Models.State;
using ContainerHealth = Docker.DotNet.Models.Health;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Tests.Docker;

public sealed class DockerInstanceMapperTests
{
    [Theory]
    [InlineData("created", 0, null, null, InstanceState.Pending, InstanceHealth.Unknown)]
    [InlineData("created", 127, "exec: not found", null, InstanceState.Failed, InstanceHealth.Unknown)]
    [InlineData("running", 0, null, null, InstanceState.Running, InstanceHealth.Unknown)]
    [InlineData("running", 0, null, "starting", InstanceState.Starting, InstanceHealth.Unknown)]
    [InlineData("running", 0, null, "healthy", InstanceState.Running, InstanceHealth.Healthy)]
    [InlineData("running", 0, null, "unhealthy", InstanceState.Running, InstanceHealth.Unhealthy)]
    [InlineData("restarting", 1, null, null, InstanceState.Starting, InstanceHealth.Unknown)]
    [InlineData("paused", 0, null, null, InstanceState.Pending, InstanceHealth.Unknown)]
    [InlineData("removing", 0, null, null, InstanceState.Stopping, InstanceHealth.Unknown)]
    [InlineData("exited", 0, null, null, InstanceState.Exited, InstanceHealth.Unknown)]
    [InlineData("exited", 3, null, null, InstanceState.Failed, InstanceHealth.Unknown)]
    [InlineData("dead", 0, null, null, InstanceState.Failed, InstanceHealth.Unknown)]
    public void Engine_states_map_to_instance_states_and_health(string status, int exitCode, string? error, string? health, InstanceState state, InstanceHealth expectedHealth)
    {
        var mapped = DockerInstanceMapper.MapState(new ContainerState
        {
            Status = status,
            Running = status is "running",
            Restarting = status is "restarting",
            ExitCode = exitCode,
            Error = error!,
            Health = health is null ? null : new ContainerHealth { Status = health, FailingStreak = 2, Log = [new HealthcheckResult { ExitCode = 1, Output = "connection refused\n" }] },
        });

        Assert.Equal(state, mapped.State);
        Assert.Equal(expectedHealth, mapped.Health);
        if (health == "unhealthy")
        {
            Assert.Equal("HEALTHCHECK failing (2 in a row): exit code 1, connection refused", mapped.Message);
        }
    }

    [Fact]
    public void An_exit_caused_by_running_out_of_memory_is_a_failure_that_says_so()
    {
        var mapped = DockerInstanceMapper.MapState(new ContainerState { Status = "exited", ExitCode = 0, OOMKilled = true });

        Assert.Equal(InstanceState.Failed, mapped.State);
        Assert.Contains("out of memory", mapped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_running_container_reports_its_published_ports_as_named_endpoints()
    {
        var inspect = new ContainerInspectResponse
        {
            ID = "abc",
            Name = "/bpi-dep-web-r2-0001",
            State = new ContainerState { Status = "running", Running = true, StartedAt = "2026-11-22T07:57:25.167564421Z" },
            Config = new ContainerConfig
            {
                Labels = new Dictionary<string, string>
                {
                    [WorkloadLabels.Owner] = "vm-1",
                    [WorkloadLabels.Deployment] = "dep",
                    [WorkloadLabels.Component] = "web",
                    [WorkloadLabels.Revision] = "2",
                    [DockerNaming.PortsLabel] = "http=8080/tcp;metrics=9090/tcp;dns=53/udp",
                },
            },
            NetworkSettings = new NetworkSettings
            {
                Ports = new Dictionary<string, IList<PortBinding>>
                {
                    ["8080/tcp"] = [new PortBinding { HostIP = "127.0.0.1", HostPort = "49153" }],
                    ["9090/tcp"] = [new PortBinding { HostIP = "0.0.0.0", HostPort = "49154" }],
                    ["53/udp"] = null!,
                },
            },
        };

        var instance = DockerInstanceMapper.ToInstance(inspect, "127.0.0.1")!;

        Assert.Equal("bpi-dep-web-r2-0001", instance.InstanceId);
        Assert.Equal(("dep", "web", 2, "vm-1"), (instance.DeploymentId, instance.ComponentId, instance.Revision, instance.OwnerId));
        Assert.Equal([new ServiceEndpoint("127.0.0.1", 49153, "http"), new ServiceEndpoint("127.0.0.1", 49154, "metrics")], instance.Endpoints);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 7, 57, 25, TimeSpan.Zero).AddTicks(1675644), instance.StartedAt);
        Assert.Null(instance.ExitCode);
    }

    [Fact]
    public void A_container_without_the_sdk_labels_is_not_an_instance()
    {
        Assert.Null(DockerInstanceMapper.ToInstance(new ContainerInspectResponse { ID = "x", Config = new ContainerConfig { Labels = new Dictionary<string, string>() } }, "127.0.0.1"));
    }
}
