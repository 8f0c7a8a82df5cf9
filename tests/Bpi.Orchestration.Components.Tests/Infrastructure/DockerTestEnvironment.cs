using Bpi.Orchestration.Components.Docker.Engine;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Components.Tests.Infrastructure;

/// <summary>
/// Whether a Docker Engine is there for the tests that need one. Without an engine those tests skip with a clear
/// message — unless <c>BPI_REQUIRE_DOCKER=1</c> (set by <c>.ci/engines/docker.sh</c>), which turns the skip into a failure
/// so CI can never pass by skipping.
/// </summary>
internal static class DockerTestEnvironment
{
    public const string RequireVariable = "BPI_REQUIRE_DOCKER";

    private static readonly Lazy<Task<string?>> Unavailability = new(ProbeAsync);

    public static bool IsRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Skips the calling <c>[SkippableFact]</c> when no engine answers, or fails it when the engine is required.</summary>
    public static async Task RequireEngineAsync()
    {
        var problem = await Unavailability.Value;
        if (problem is null)
        {
            return;
        }

        if (IsRequired)
        {
            throw new InvalidOperationException($"{RequireVariable}=1 but no Docker Engine answers: {problem}");
        }

        Skip.If(true, $"No Docker Engine answers ({problem}); start dockerd (see .ci/engines/docker.sh) or set DOCKER_HOST. Set {RequireVariable}=1 to make this a failure.");
    }

    public static DockerEngineClient CreateClient(Action<DockerRuntimeOptionsBuilder>? configure = null)
    {
        var options = new Bpi.Orchestration.Components.Docker.DockerRuntimeOptions();
        var builder = new DockerRuntimeOptionsBuilder(options);
        configure?.Invoke(builder);
        return new DockerEngineClient(DockerEngineClientOptions.From(options), TimeProvider.System, NullLogger.Instance);
    }

    private static async Task<string?> ProbeAsync()
    {
        try
        {
            var options = new Bpi.Orchestration.Components.Docker.DockerRuntimeOptions { MaxRetryAttempts = 0, RequestTimeout = TimeSpan.FromSeconds(5) };
            await using var client = new DockerEngineClient(DockerEngineClientOptions.From(options), TimeProvider.System, NullLogger.Instance);
            await client.GetApiVersionAsync();
            return null;
        }
        catch (Exception exception) when (exception is OrchestrationException or IOException or HttpRequestException)
        {
            return exception.Message;
        }
    }
}

/// <summary>Lets tests adjust the options a client is built from.</summary>
internal sealed class DockerRuntimeOptionsBuilder(Bpi.Orchestration.Components.Docker.DockerRuntimeOptions options)
{
    public Bpi.Orchestration.Components.Docker.DockerRuntimeOptions Options { get; } = options;
}
