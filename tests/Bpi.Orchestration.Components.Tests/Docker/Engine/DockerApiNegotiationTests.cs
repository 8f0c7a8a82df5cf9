using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Components.Tests.Docker.Engine;

/// <summary>API version negotiation against a fake engine on a real socket.</summary>
public sealed class DockerApiNegotiationTests
{
    private const string InfoJson = "{\"ID\":\"fake\",\"ServerVersion\":\"fake\",\"NCPU\":2}";

    [Fact]
    public async Task An_engine_speaking_at_most_1_41_is_spoken_to_at_1_41()
    {
        await using var engine = FakeDockerEngine.StartTcp(FakeDockerEngine.Versioned(() => ("1.12", "1.41"), InfoHandler));
        await using var client = CreateClient(engine);

        var info = await client.GetInfoAsync();

        Assert.Equal("fake", info.ID);
        Assert.Equal(new DockerApiVersion(1, 41), await client.GetApiVersionAsync());
        Assert.Contains(engine.Requests, r => r.Path == "/v1.41/info");
    }

    [Fact]
    public async Task An_engine_that_rejects_clients_below_1_44_is_spoken_to_at_the_sdk_maximum()
    {
        await using var engine = FakeDockerEngine.StartTcp(FakeDockerEngine.Versioned(() => ("1.44", "1.51"), InfoHandler));
        await using var client = CreateClient(engine);

        await client.GetInfoAsync();

        Assert.Equal(DockerApiVersion.MaximumSupported, await client.GetApiVersionAsync());
        Assert.True(DockerApiVersion.MaximumSupported >= new DockerApiVersion(1, 44));
        Assert.Contains(engine.Requests, r => r.Path == "/v" + DockerApiVersion.MaximumSupported + "/info");
    }

    [Fact]
    public async Task Negotiation_asks_the_engine_once_for_all_calls()
    {
        await using var engine = FakeDockerEngine.StartTcp(FakeDockerEngine.Versioned(() => ("1.12", "1.41"), InfoHandler));
        await using var client = CreateClient(engine);

        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => client.GetInfoAsync()));

        Assert.Equal(1, engine.Count("/version"));
        Assert.Equal(5, engine.Requests.Count(r => r.Path == "/v1.41/info"));
    }

    [Fact]
    public async Task An_engine_older_than_1_41_is_refused_with_what_to_do()
    {
        await using var engine = FakeDockerEngine.StartTcp(FakeDockerEngine.Versioned(() => ("1.12", "1.40"), InfoHandler));
        await using var client = CreateClient(engine);

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => client.GetInfoAsync());

        Assert.Equal(OrchestrationErrorKind.RuntimeUnavailable, error.Kind);
        Assert.False(error.IsTransient);
        Assert.Contains("speaks at most API 1.40, older than 1.41", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(engine.Requests, r => r.Path.EndsWith("/info", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_engine_whose_minimum_is_above_the_sdk_maximum_is_refused()
    {
        await using var engine = FakeDockerEngine.StartTcp(FakeDockerEngine.Versioned(() => ("1.44", "1.51"), InfoHandler));
        await using var client = CreateClient(engine, maximum: new DockerApiVersion(1, 43));

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => client.GetInfoAsync());

        Assert.Contains("requires API 1.44 or newer, but this SDK speaks at most 1.43", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_version_the_engine_rejects_is_renegotiated_once_and_the_call_succeeds()
    {
        // The engine is upgraded while the client runs: it first speaks 1.12–1.41, then only 1.44–1.51.
        var range = ("1.12", "1.41");
        await using var engine = FakeDockerEngine.StartTcp(FakeDockerEngine.Versioned(() => range, InfoHandler));
        await using var client = CreateClient(engine);
        await client.GetInfoAsync();
        range = ("1.44", "1.51");

        var info = await client.GetInfoAsync();

        Assert.Equal("fake", info.ID);
        Assert.Equal(DockerApiVersion.MaximumSupported, await client.GetApiVersionAsync());
        Assert.Equal(2, engine.Count("/version"));
        Assert.Equal(["/v1.41/info", "/v1.41/info", "/v" + DockerApiVersion.MaximumSupported + "/info"], engine.Requests.Select(r => r.Path).Where(p => p.EndsWith("/info", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_engine_that_keeps_rejecting_the_version_fails_after_one_renegotiation()
    {
        // Says it speaks 1.41 but rejects 1.41: renegotiating yields the same version, so the client gives up.
        await using var engine = FakeDockerEngine.StartTcp(request => request.PathWithoutQuery switch
        {
            "/_ping" => Task.FromResult(new FakeResponse(200, "OK", new Dictionary<string, string> { ["API-Version"] = "1.41" })),
            "/version" => Task.FromResult(FakeResponse.Json(200, "{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}")),
            _ => Task.FromResult(FakeResponse.Error(400, "client version 1.41 is too old. Minimum supported API version is 1.44, please upgrade your client to a newer version")),
        });
        await using var client = CreateClient(engine);

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => client.GetInfoAsync());

        Assert.Equal(OrchestrationErrorKind.RuntimeUnavailable, error.Kind);
        Assert.False(error.IsTransient);
        Assert.Contains("rejects API version 1.41 even after renegotiating", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, engine.Count("/version"));
        Assert.Equal(1, engine.Requests.Count(r => r.Path == "/v1.41/info"));
    }

    [Fact]
    public async Task The_client_speaks_to_an_engine_on_a_unix_socket()
    {
        await using var engine = FakeDockerEngine.StartUnix(FakeDockerEngine.Versioned(() => ("1.12", "1.41"), InfoHandler));
        await using var client = CreateClient(engine);

        var info = await client.GetInfoAsync();

        Assert.Equal(2, info.NCPU);
        Assert.StartsWith("unix:///", engine.Endpoint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_engine_named_by_DOCKER_HOST_is_used_when_no_host_is_configured()
    {
        await using var engine = FakeDockerEngine.StartUnix(FakeDockerEngine.Versioned(() => ("1.12", "1.41"), InfoHandler));
        var options = DockerEngineOptions.From(new DockerRuntimeOptions(), name => name == "DOCKER_HOST" ? engine.Endpoint : null);
        await using var client = new DockerEngine(options, TimeProvider.System, NullLogger.Instance);

        await client.GetInfoAsync();

        Assert.Contains(engine.Requests, r => r.Path == "/v1.41/info");
    }

    private static FakeResponse InfoHandler(FakeRequest request) =>
        request.PathWithoutQuery == "/info" ? FakeResponse.Json(200, InfoJson) : FakeDockerEngine.Unhandled(request);

    private static DockerEngine CreateClient(FakeDockerEngine engine, DockerApiVersion? maximum = null)
    {
        var options = DockerEngineOptions.From(new DockerRuntimeOptions { Host = engine.Endpoint, RetryBaseDelay = TimeSpan.FromMilliseconds(1) })
            with { MaximumApiVersion = maximum ?? DockerApiVersion.MaximumSupported };
        return new DockerEngine(options, TimeProvider.System, NullLogger.Instance);
    }
}
