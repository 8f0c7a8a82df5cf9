using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.DockLock;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Tests.Docker;

public sealed class DockerContainerRequestBuilderTests
{
    private static readonly DockerRuntimeOptions Options = new();

    [Fact]
    public void The_request_carries_environment_secrets_ports_labels_network_and_the_command()
    {
        var revision = Revision(new ComponentSpec
        {
            Id = "api",
            Image = "shop/api:2",
            Command = new CommandSpec { FileName = "/app/server", Arguments = ["--port", "8080"], WorkingDirectory = "/app" },
            Ports = [new PortSpec { Name = "http", ContainerPort = 8080 }, new PortSpec { Name = "dns", ContainerPort = 53, Protocol = PortProtocol.Udp }],
            Environment = new Dictionary<string, string> { ["MODE"] = "prod" },
            Secrets = new Dictionary<string, string> { ["DB_PASSWORD"] = "hunter2" },
        }) with { Labels = new Dictionary<string, string> { ["team"] = "payments", [WorkloadLabels.Owner] = "spoofed" } };
        var policy = DockLockPolicy.Resolve(revision.Component, Options);

        var request = DockerContainerRequestBuilder.Build(revision, policy, Options, "bpi-dep-api-r2-00000000", "65534:65534", "bpi-dep", []);

        Assert.Equal("shop/api:2", request.Image);
        Assert.Equal(["/app/server"], request.Entrypoint);
        Assert.Equal(["--port", "8080"], request.Cmd);
        Assert.Equal("/app", request.WorkingDir);
        Assert.Equal(["MODE=prod", "DB_PASSWORD=hunter2"], request.Env);
        Assert.Equal("65534:65534", request.User);
        Assert.Equal(["8080/tcp", "53/udp"], request.ExposedPorts!.Keys);
        Assert.All(request.HostConfig!.PortBindings!.Values, b => Assert.Equal(("127.0.0.1", ""), (b![0].HostIP, b[0].HostPort)));
        Assert.Equal("bpi-dep", request.HostConfig.NetworkMode);
        Assert.True(request.HostConfig.Init);
        Assert.Equal(["api"], request.NetworkingConfig!.EndpointsConfig!["bpi-dep"].Aliases);
        Assert.Equal("vm-1", request.Labels![WorkloadLabels.Owner]);
        Assert.Equal("payments", request.Labels["team"]);
        Assert.Equal("bpi-dep-api-r2-00000000", request.Labels[WorkloadLabels.Instance]);
        Assert.Equal("http=8080/tcp;dns=53/udp", request.Labels[DockerNaming.PortsLabel]);
        Assert.Equal("2", request.Labels[WorkloadLabels.Revision]);
    }

    [Fact]
    public void Without_a_command_the_image_entrypoint_and_cmd_are_kept()
    {
        var revision = Revision(new ComponentSpec { Id = "web", Image = "web:1" });

        var request = DockerContainerRequestBuilder.Build(revision, DockLockPolicy.Resolve(revision.Component, Options), Options, "c", null, "n", []);

        Assert.Null(request.Entrypoint);
        Assert.Null(request.Cmd);
        Assert.Null(request.User);
        Assert.Null(request.Env);
    }

    [Theory]
    [InlineData("dep-1", "bpi-dep-1")]
    [InlineData("Dep/With Spaces", "bpi-Dep-With-Spaces")]
    public void Engine_names_keep_only_the_characters_the_engine_allows(string deploymentId, string network)
    {
        Assert.Equal(network, DockerNaming.NetworkName(deploymentId));
        Assert.Matches("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", DockerNaming.NewContainerName(Revision(new ComponentSpec { Id = "w", Image = "i" }) with { DeploymentId = deploymentId }));
    }

    private static WorkloadRevision Revision(ComponentSpec component) => new()
    {
        OwnerId = "vm-1",
        DeploymentId = "dep",
        DeploymentName = "shop",
        AppId = "shop",
        Environment = "prod",
        Revision = 2,
        Component = component,
    };
}
