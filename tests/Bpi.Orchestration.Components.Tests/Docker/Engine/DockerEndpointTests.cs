using Bpi.Orchestration.Components.Docker.Engine;

namespace Bpi.Orchestration.Components.Tests.Docker.Engine;

public sealed class DockerEndpointTests
{
    [Fact]
    public void Without_configuration_or_DOCKER_HOST_the_default_unix_socket_is_used()
    {
        var endpoint = DockerEndpoint.Resolve(null, _ => null);

        Assert.Equal("/var/run/docker.sock", endpoint.UnixSocketPath);
    }

    [Fact]
    public void DOCKER_HOST_is_honoured_when_nothing_is_configured()
    {
        var endpoint = DockerEndpoint.Resolve(null, name => name == "DOCKER_HOST" ? "tcp://10.0.0.5:2376" : null);

        Assert.False(endpoint.IsUnixSocket);
        Assert.Equal("10.0.0.5", endpoint.Host);
        Assert.Equal(2376, endpoint.Port);
        Assert.Equal(new Uri("http://10.0.0.5:2376/"), endpoint.BaseAddress);
    }

    [Fact]
    public void A_configured_host_wins_over_DOCKER_HOST()
    {
        var endpoint = DockerEndpoint.Resolve("unix:///run/user/1000/docker.sock", _ => "tcp://10.0.0.5:2376");

        Assert.Equal("/run/user/1000/docker.sock", endpoint.UnixSocketPath);
    }

    [Fact]
    public void A_tcp_endpoint_without_a_port_uses_the_engine_default_2375()
    {
        Assert.True(DockerEndpoint.TryParse("tcp://docker-host", out var endpoint, out _));

        Assert.Equal(2375, endpoint.Port);
    }

    [Theory]
    [InlineData("unix://relative.sock", "absolute socket path")]
    [InlineData("ssh://user@host", "does not support")]
    [InlineData("npipe:////./pipe/docker_engine", "does not support")]
    [InlineData("docker.sock", "not a Docker endpoint")]
    [InlineData("tcp://", "not a valid TCP endpoint")]
    public void Endpoints_the_client_cannot_use_are_rejected_with_the_reason(string text, string reason)
    {
        Assert.False(DockerEndpoint.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);

        var exception = Assert.Throws<OrchestrationException>(() => DockerEndpoint.Resolve(text));
        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, exception.Kind);
    }

    [Theory]
    [InlineData("1.41", 1, 41)]
    [InlineData("v1.44", 1, 44)]
    [InlineData(" 1.9 ", 1, 9)]
    public void Api_versions_parse_and_compare_numerically(string text, int major, int minor)
    {
        Assert.True(DockerApiVersion.TryParse(text, out var version));
        Assert.Equal(new DockerApiVersion(major, minor), version);
        Assert.True(new DockerApiVersion(1, 9) < new DockerApiVersion(1, 41));
        Assert.Equal(new DockerApiVersion(1, 41), DockerApiVersion.Min(new DockerApiVersion(1, 47), new DockerApiVersion(1, 41)));
    }
}
