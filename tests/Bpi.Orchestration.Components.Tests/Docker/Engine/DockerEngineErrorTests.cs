using System.Net;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Components.Tests.Docker.Engine;

/// <summary>How engine answers become typed errors, checked through the client against a fake engine on a real socket.</summary>
public sealed class DockerEngineErrorTests
{
    [Fact]
    public async Task Not_found_names_the_kind_of_resource_and_keeps_the_engine_message()
    {
        await using var engine = Engine(_ => FakeResponse.Error(404, "No such container: web-1"));
        await using var client = CreateClient(engine);

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => client.InspectContainerAsync("web-1"));

        Assert.Equal(OrchestrationErrorKind.NotFound, error.Kind);
        Assert.Equal(404, error.StatusCode);
        Assert.Equal("container", error.ResourceKind);
        Assert.Equal("No such container: web-1", error.EngineMessage);
        Assert.Contains("no container 'web-1'", error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
    }

    [Theory]
    [InlineData(503, "engine busy", Bpi.Orchestration.Resilience.FaultClass.Throttled)]
    [InlineData(429, "too many requests", Bpi.Orchestration.Resilience.FaultClass.Throttled)]
    [InlineData(500, "driver failed", Bpi.Orchestration.Resilience.FaultClass.Transient)]
    [InlineData(500, "OCI runtime create failed: executable file not found", Bpi.Orchestration.Resilience.FaultClass.Permanent)]
    [InlineData(404, "No such container: web-1", Bpi.Orchestration.Resilience.FaultClass.Permanent)]
    [InlineData(400, "invalid reference format", Bpi.Orchestration.Resilience.FaultClass.Permanent)]
    public void Engine_answers_are_classified_by_status_unless_the_engine_says_the_request_cannot_run(int status, string message, Bpi.Orchestration.Resilience.FaultClass expected)
    {
        var error = DockerEngineErrors.FromResponse((HttpStatusCode)status, message, "POST", "/containers/create", "container", "web-1");

        Assert.Equal(expected, error.FaultClass);
        Assert.Equal(expected, Bpi.Orchestration.Resilience.FaultClassifier.Classify(error));
    }

    [Fact]
    public void An_unreachable_engine_is_a_transient_fault()
    {
        var error = DockerEngineErrors.Unreachable(DockerEndpoint.Resolve("tcp://127.0.0.1:1"), "GET", "/version", new HttpRequestException("refused", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused)));

        Assert.Equal(Bpi.Orchestration.Resilience.FaultClass.Transient, Bpi.Orchestration.Resilience.FaultClassifier.Classify(error));
    }

    [Fact]
    public async Task A_conflict_maps_to_conflict()
    {
        await using var engine = Engine(_ => FakeResponse.Error(409, "Conflict. The container name \"/web\" is already in use"));
        await using var client = CreateClient(engine);

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => client.CreateContainerAsync(new() { Name = "web", Image = "busybox" }));

        Assert.Equal(OrchestrationErrorKind.Conflict, error.Kind);
        Assert.Equal(409, error.StatusCode);
    }

    [Fact]
    public async Task Starting_or_stopping_a_container_already_in_that_state_is_not_an_error()
    {
        await using var engine = Engine(_ => new FakeResponse(304));
        await using var client = CreateClient(engine);

        Assert.False(await client.StartContainerAsync("web"));
        Assert.False(await client.StopContainerAsync("web", TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Starting_a_stopped_container_reports_that_it_started()
    {
        await using var engine = Engine(_ => new FakeResponse(204));
        await using var client = CreateClient(engine);

        Assert.True(await client.StartContainerAsync("web"));
    }

    [Fact]
    public async Task A_server_error_is_retried_by_the_pipeline_until_the_engine_recovers()
    {
        var calls = 0;
        await using var engine = Engine(request => request.PathWithoutQuery == "/info" && Interlocked.Increment(ref calls) <= 2
            ? FakeResponse.Error(500, "driver busy")
            : FakeResponse.Json(200, "{\"ID\":\"recovered\"}"));
        await using var client = CreateClient(engine, retries: 3);

        var info = await client.GetInfoAsync();

        Assert.Equal("recovered", info.ID);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task A_server_error_that_persists_fails_as_transient_after_the_configured_retries()
    {
        await using var engine = Engine(_ => FakeResponse.Error(503, "daemon is shutting down"));
        await using var client = CreateClient(engine, retries: 2);

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => client.GetInfoAsync());

        Assert.Equal(OrchestrationErrorKind.RuntimeUnavailable, error.Kind);
        Assert.True(error.IsTransient);
        Assert.Equal(503, error.StatusCode);
        Assert.Equal(3, engine.Requests.Count(r => r.Path.EndsWith("/info", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_container_the_runtime_cannot_start_is_not_retried()
    {
        await using var engine = Engine(_ => FakeResponse.Error(500, "OCI runtime create failed: exec: \"/app\": stat /app: no such file or directory: unknown"));
        await using var client = CreateClient(engine, retries: 3);

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => client.StartContainerAsync("web"));

        Assert.Equal(OrchestrationErrorKind.ContainerStartupFailed, error.Kind);
        Assert.False(error.IsTransient);
        Assert.Equal(1, engine.Requests.Count(r => r.Path.EndsWith("/start", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_bad_request_is_invalid_configuration()
    {
        await using var engine = Engine(_ => FakeResponse.Error(400, "invalid reference format"));
        await using var client = CreateClient(engine);

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => client.CreateContainerAsync(new() { Image = "Not Valid" }));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("invalid reference format", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_engine_that_is_not_there_is_transient_and_says_where_it_was_looked_for()
    {
        var path = Path.Combine(Path.GetTempPath(), "bpi-no-engine-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        var options = DockerEngineOptions.From(new DockerRuntimeOptions { Host = "unix://" + path, MaxRetryAttempts = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(1) });
        await using var client = new DockerEngine(options, TimeProvider.System, NullLogger.Instance);

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => client.GetInfoAsync());

        Assert.Equal(OrchestrationErrorKind.RuntimeUnavailable, error.Kind);
        Assert.True(error.IsTransient);
        Assert.Null(error.StatusCode);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_the_engine_does_not_answer_in_time_fails_with_a_timeout()
    {
        var neverAnswer = new TaskCompletionSource<FakeResponse>();
        var versioned = FakeDockerEngine.Versioned(() => ("1.12", "1.41"));
        await using var engine = FakeDockerEngine.StartTcp(request => request.PathWithoutQuery.EndsWith("/info", StringComparison.Ordinal) ? neverAnswer.Task : versioned(request));
        var options = DockerEngineOptions.From(new DockerRuntimeOptions { Host = engine.Endpoint, RequestTimeout = TimeSpan.FromMilliseconds(300) });
        await using var client = new DockerEngine(options, TimeProvider.System, NullLogger.Instance);

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => client.GetInfoAsync());

        Assert.Equal(OrchestrationErrorKind.Timeout, error.Kind);
        Assert.Contains("did not answer GET /info within 0.3 s", error.Message, StringComparison.Ordinal);
        neverAnswer.SetResult(FakeResponse.Json(200, "{}"));
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, OrchestrationErrorKind.NotFound, false)]
    [InlineData(HttpStatusCode.Conflict, OrchestrationErrorKind.Conflict, false)]
    [InlineData(HttpStatusCode.BadRequest, OrchestrationErrorKind.InvalidConfiguration, false)]
    [InlineData(HttpStatusCode.Forbidden, OrchestrationErrorKind.Unauthorized, false)]
    [InlineData(HttpStatusCode.InternalServerError, OrchestrationErrorKind.RuntimeUnavailable, true)]
    [InlineData(HttpStatusCode.ServiceUnavailable, OrchestrationErrorKind.RuntimeUnavailable, true)]
    public void Each_status_maps_to_its_kind_and_only_server_errors_are_transient(HttpStatusCode status, OrchestrationErrorKind kind, bool transient)
    {
        var error = DockerEngineErrors.FromResponse(status, "engine says no", "POST", "/containers/x/start", "container", "x");

        Assert.Equal(kind, error.Kind);
        Assert.Equal(transient, error.IsTransient);
        Assert.Equal(transient, DockerEngineErrors.IsTransientEngineFault(error));
        Assert.Equal("engine says no", error.EngineMessage);
    }

    [Theory]
    [InlineData("client version 1.41 is too old. Minimum supported API version is 1.44, please upgrade your client to a newer version", true)]
    [InlineData("client version 1.99 is too new. Maximum supported API version is 1.41", true)]
    [InlineData("No such container: x", false)]
    public void Version_rejections_are_recognised_by_the_engine_message(string message, bool rejection)
    {
        Assert.Equal(rejection, DockerEngineErrors.IsVersionRejection(HttpStatusCode.BadRequest, message));
    }

    private static FakeDockerEngine Engine(Func<FakeRequest, FakeResponse> handler) =>
        FakeDockerEngine.StartTcp(FakeDockerEngine.Versioned(() => ("1.12", "1.41"), handler));

    private static DockerEngine CreateClient(FakeDockerEngine engine, int retries = 0) => new(
        DockerEngineOptions.From(new DockerRuntimeOptions { Host = engine.Endpoint, MaxRetryAttempts = retries, RetryBaseDelay = TimeSpan.FromMilliseconds(1) }),
        TimeProvider.System,
        NullLogger.Instance);
}
