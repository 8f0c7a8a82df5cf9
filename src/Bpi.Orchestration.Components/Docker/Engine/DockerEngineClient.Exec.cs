using System.Text;
using Bpi.Orchestration.Components.Docker.Engine.Models;
using Bpi.Orchestration.Components.Docker.Engine.Streams;

namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>The result of a command run in a container.</summary>
/// <param name="ExitCode">The command's exit code.</param>
/// <param name="Stdout">What it wrote to stdout.</param>
/// <param name="Stderr">What it wrote to stderr.</param>
/// <param name="Output">Stdout and stderr interleaved in the order the engine sent them.</param>
internal sealed record DockerExecResult(int ExitCode, string Stdout, string Stderr, string Output);

/// <summary>Exec: create, start, inspect, and the three together.</summary>
internal sealed partial class DockerEngineClient
{
    /// <summary><c>POST /containers/{id}/exec</c>.</summary>
    /// <returns>The exec instance's id.</returns>
    public async Task<string> CreateExecAsync(string containerId, ExecCreateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(containerId);
        ArgumentNullException.ThrowIfNull(request);
        var response = await GetJsonAsync(
            new DockerCall(HttpMethod.Post, $"/containers/{Escape(containerId)}/exec")
            {
                Content = Json(request, DockerJsonContext.Default.ExecCreateRequest),
                ResourceKind = "container",
                ResourceName = containerId,
            },
            DockerJsonContext.Default.IdResponse,
            cancellationToken).ConfigureAwait(false);
        return response.Id;
    }

    /// <summary><c>POST /exec/{id}/start</c> (attached): the command's output frames, until it exits. Not retried: a command must not run twice.</summary>
    public async IAsyncEnumerable<DockerStreamFrame> StartExecAsync(string execId, bool tty = false, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(execId);
        using var response = await SendAsync(
            new DockerCall(HttpMethod.Post, $"/exec/{Escape(execId)}/start")
            {
                Content = Json(new ExecStartRequest { Detach = false, Tty = tty }, DockerJsonContext.Default.ExecStartRequest),
                ResourceKind = "exec",
                ResourceName = execId,
                Streaming = true,
                Retry = false,
            },
            cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await foreach (var frame in DockerStreamDemultiplexer.ReadFramesAsync(stream, tty, Options.MaxFrameSize, cancellationToken).ConfigureAwait(false))
            {
                yield return frame;
            }
        }
    }

    /// <summary><c>GET /exec/{id}/json</c>.</summary>
    public Task<ExecInspectResponse> InspectExecAsync(string execId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(execId);
        return GetJsonAsync(
            new DockerCall(HttpMethod.Get, $"/exec/{Escape(execId)}/json") { ResourceKind = "exec", ResourceName = execId },
            DockerJsonContext.Default.ExecInspectResponse,
            cancellationToken);
    }

    /// <summary>Runs a command in a running container and collects stdout, stderr and the exit code.</summary>
    /// <param name="containerId">The container.</param>
    /// <param name="command">The command and its arguments (no shell).</param>
    /// <param name="maxOutputBytes">Output beyond this many bytes per stream is dropped.</param>
    /// <param name="cancellationToken">Cancels the wait (the command itself may keep running in the container).</param>
    public async Task<DockerExecResult> ExecAsync(string containerId, IReadOnlyList<string> command, int maxOutputBytes = 64 * 1024, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Count == 0)
        {
            throw OrchestrationException.InvalidConfiguration("exec command", ["The command is empty; give the program and its arguments."]);
        }

        var execId = await CreateExecAsync(containerId, new ExecCreateRequest { Cmd = command }, cancellationToken).ConfigureAwait(false);
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        using var combined = new MemoryStream();
        await foreach (var frame in StartExecAsync(execId, tty: false, cancellationToken).ConfigureAwait(false))
        {
            foreach (var target in new[] { frame.Stream == DockerStreamKind.Stderr ? stderr : stdout, combined })
            {
                var room = (int)Math.Max(0, maxOutputBytes - target.Length);
                target.Write(frame.Payload.Span[..Math.Min(room, frame.Payload.Length)]);
            }
        }

        // The output ends when the process exits; the exec's exit code is recorded a moment later.
        var inspect = await InspectExecAsync(execId, cancellationToken).ConfigureAwait(false);
        for (var i = 0; inspect.Running && i < 50; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), _timeProvider, cancellationToken).ConfigureAwait(false);
            inspect = await InspectExecAsync(execId, cancellationToken).ConfigureAwait(false);
        }

        if (inspect.Running || inspect.ExitCode is null)
        {
            throw new DockerEngineException(
                OrchestrationErrorKind.Timeout,
                $"The command run in container '{containerId}' closed its output but the engine reports it still running; its exit code is unknown.",
                statusCode: null, engineMessage: null, resourceKind: "exec");
        }

        return new DockerExecResult(
            inspect.ExitCode.Value,
            Encoding.UTF8.GetString(stdout.ToArray()),
            Encoding.UTF8.GetString(stderr.ToArray()),
            Encoding.UTF8.GetString(combined.ToArray()));
    }
}
