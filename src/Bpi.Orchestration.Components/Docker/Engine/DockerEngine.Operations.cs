using EngineRestartKind = Docker.DotNet.Models.RestartPolicyKind;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Bpi.Orchestration.Components.Docker.Engine.Streams;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Bpi.Orchestration.Components.Docker.Engine;

/// <summary>The result of a command run in a container.</summary>
internal sealed record DockerExecResult(int ExitCode, string Stdout, string Stderr, string Output);

/// <summary>The engine operations the SDK uses, each through <see cref="CallAsync{T}"/>.</summary>
internal sealed partial class DockerEngine
{
    private const string Container = "container";

    /// <summary>Writes the library's models with the engine's names (its attributes) and its restart policy words.</summary>
    private static readonly System.Text.Json.JsonSerializerOptions InspectJsonOptions = new()
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Converters = { new RestartPolicyKindConverter() },
    };

    // ---- system -----------------------------------------------------------------------------------------------------

    /// <summary><c>GET /version</c> (unversioned, so it answers whatever API the engine speaks).</summary>
    public Task<VersionResponse> GetVersionAsync(CancellationToken cancellationToken = default) =>
        CallWithRetriesAsync(new EngineCall("GET", "/version"), static (c, t) => c.System.GetVersionAsync(t), versioned: false, cancellationToken);

    /// <summary><c>GET /info</c>.</summary>
    public Task<SystemInfoResponse> GetInfoAsync(CancellationToken cancellationToken = default) =>
        CallAsync(new EngineCall("GET", "/info"), static (c, t) => c.System.GetSystemInfoAsync(t), cancellationToken);

    /// <summary><c>GET /events</c>: streams events until cancelled (or until <paramref name="until"/>).</summary>
    /// <param name="labels">Only events of objects carrying these labels (value <see langword="null"/>: any value).</param>
    /// <param name="since">Replay events from this moment on.</param>
    /// <param name="until">Stop at this moment.</param>
    /// <param name="type">Only events of this object type (<c>container</c>, <c>network</c>, …); all types when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <remarks>
    /// The stream ends normally when the engine closes it (for example when it restarts) and throws
    /// <see cref="DockerEngineException"/> when it cannot be opened; callers that watch for good reconnect.
    /// </remarks>
    public async IAsyncEnumerable<Message> StreamEventsAsync(
        IReadOnlyDictionary<string, string?>? labels = null,
        DateTimeOffset? since = null,
        DateTimeOffset? until = null,
        string? type = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var parameters = new ContainerEventsParameters
        {
            Since = since?.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            Until = until?.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            Filters = labels is { Count: > 0 } ? LabelFilters(labels) : null,
        };
        if (type is not null)
        {
            parameters.Filters ??= new Dictionary<string, IDictionary<string, bool>>(StringComparer.Ordinal);
            parameters.Filters["type"] = new Dictionary<string, bool>(StringComparer.Ordinal) { [type] = true };
        }

        var channel = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pump = CallAsync(
            new EngineCall("GET", "/events") { Timeout = Timeout.InfiniteTimeSpan, Retry = false },
            (c, t) => c.System.MonitorEventsAsync(parameters, new SyncProgress<Message>(m => channel.Writer.TryWrite(m)), t),
            stop.Token);
        _ = pump.ContinueWith(
            static (task, state) => ((ChannelWriter<Message>)state!).TryComplete(task.Exception?.InnerException is { } e && e is not OperationCanceledException ? e : null),
            channel.Writer, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await foreach (var message in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return message;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }

    // ---- containers -------------------------------------------------------------------------------------------------

    /// <summary><c>POST /containers/create</c>. The request may carry secret environment values: it is never logged.</summary>
    /// <exception cref="DockerEngineException">The image is missing (<see cref="OrchestrationErrorKind.NotFound"/>) or the name is taken (<see cref="OrchestrationErrorKind.Conflict"/>).</exception>
    public Task<CreateContainerResponse> CreateContainerAsync(CreateContainerParameters request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return CallAsync(
            new EngineCall("POST", "/containers/create") { ResourceKind = Container, ResourceName = request.Name ?? request.Image },
            (c, t) => c.Containers.CreateContainerAsync(request, t),
            cancellationToken);
    }

    /// <summary><c>POST /containers/{id}/start</c>.</summary>
    /// <returns><see langword="true"/> when started; <see langword="false"/> when it was already running.</returns>
    public Task<bool> StartContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return CallAsync(
            new EngineCall("POST", $"/containers/{id}/start") { ResourceKind = Container, ResourceName = id },
            (c, t) => c.Containers.StartContainerAsync(id, new ContainerStartParameters(), t),
            cancellationToken);
    }

    /// <summary><c>POST /containers/{id}/stop</c>: SIGTERM, then SIGKILL after <paramref name="timeout"/>.</summary>
    /// <returns><see langword="true"/> when stopped; <see langword="false"/> when it was not running.</returns>
    public Task<bool> StopContainerAsync(string id, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var seconds = (uint)Math.Ceiling(Math.Max(0, timeout.TotalSeconds));
        return CallAsync(
            new EngineCall("POST", $"/containers/{id}/stop")
            {
                ResourceKind = Container,
                ResourceName = id,
                Timeout = Options.RequestTimeout + TimeSpan.FromSeconds(seconds),
            },
            (c, t) => c.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = seconds }, t),
            cancellationToken);
    }

    /// <summary><c>POST /containers/{id}/kill</c>.</summary>
    /// <exception cref="DockerEngineException">The container is not running (<see cref="OrchestrationErrorKind.Conflict"/>).</exception>
    public Task KillContainerAsync(string id, string signal = "SIGKILL", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return CallAsync(
            new EngineCall("POST", $"/containers/{id}/kill") { ResourceKind = Container, ResourceName = id },
            (c, t) => c.Containers.KillContainerAsync(id, new ContainerKillParameters { Signal = signal }, t),
            cancellationToken);
    }

    /// <summary><c>GET /containers/{id}/top</c>: the command lines of the container's processes (the engine runs <c>ps -ef</c> on its host).</summary>
    /// <exception cref="DockerEngineException">The container is not running (<see cref="OrchestrationErrorKind.Conflict"/>) or does not exist.</exception>
    public async Task<IReadOnlyList<string>> ListProcessCommandsAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var top = await CallAsync(
            new EngineCall("GET", $"/containers/{id}/top") { ResourceKind = Container, ResourceName = id },
            (c, t) => c.Containers.ListProcessesAsync(id, new ContainerListProcessesParameters(), t),
            cancellationToken).ConfigureAwait(false);
        var column = top.Titles is { } titles ? titles.ToList().FindIndex(t => t is "CMD" or "COMMAND") : -1;
        return column < 0 || top.Processes is null ? [] : [.. top.Processes.Where(p => p.Count > column).Select(p => p[column])];
    }

    /// <summary><c>POST /containers/{id}/wait</c>: blocks until the container is not running; no timeout of its own.</summary>
    public Task<ContainerWaitResponse> WaitContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return CallAsync(
            new EngineCall("POST", $"/containers/{id}/wait") { ResourceKind = Container, ResourceName = id, Timeout = Timeout.InfiniteTimeSpan },
            (c, t) => c.Containers.WaitContainerAsync(id, t),
            cancellationToken);
    }

    /// <summary><c>DELETE /containers/{id}</c>.</summary>
    /// <exception cref="DockerEngineException">The container does not exist (<see cref="OrchestrationErrorKind.NotFound"/>) or is running and <paramref name="force"/> is false.</exception>
    public Task RemoveContainerAsync(string id, bool force = false, bool removeVolumes = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return CallAsync(
            new EngineCall("DELETE", $"/containers/{id}") { ResourceKind = Container, ResourceName = id },
            (c, t) => c.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = force, RemoveVolumes = removeVolumes }, t),
            cancellationToken);
    }

    /// <summary><c>PUT /containers/{id}/archive</c>: unpacks a tar archive into the container's filesystem under <paramref name="path"/> (the container may be created and not yet started).</summary>
    public Task CopyToContainerAsync(string id, string path, Stream tarArchive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(tarArchive);
        return CallAsync(
            new EngineCall("PUT", $"/containers/{id}/archive") { ResourceKind = Container, ResourceName = id, Retry = false },
            (c, t) => c.Containers.ExtractArchiveToContainerAsync(id, new CopyToContainerParameters { Path = path }, tarArchive, t),
            cancellationToken);
    }

    /// <summary><c>GET /containers/{id}/json</c>.</summary>
    public Task<ContainerInspectResponse> InspectContainerAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return CallAsync(
            new EngineCall("GET", $"/containers/{id}/json") { ResourceKind = Container, ResourceName = id },
            (c, t) => c.Containers.InspectContainerAsync(id, t),
            cancellationToken);
    }

    /// <summary>
    /// <c>GET /containers/{id}/json</c> as JSON text, for the security inspector (which reads it through Core's port).
    /// The library's typed answer is serialized back with the library's own JSON contract, so the names are the engine's.
    /// </summary>
    public async Task<string> InspectContainerJsonAsync(string id, CancellationToken cancellationToken = default)
    {
        var inspect = await InspectContainerAsync(id, cancellationToken).ConfigureAwait(false);
        return System.Text.Json.JsonSerializer.Serialize(inspect, InspectJsonOptions);
    }

    /// <summary><c>GET /containers/json</c> filtered by labels (value <see langword="null"/>: any value).</summary>
    /// <param name="labels">Every label a container must carry.</param>
    /// <param name="all">Also stopped containers.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<ContainerListResponse>> ListContainersAsync(IReadOnlyDictionary<string, string?> labels, bool all = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var parameters = new ContainersListParameters { All = all, Filters = labels.Count > 0 ? LabelFilters(labels) : null };
        var list = await CallAsync(
            new EngineCall("GET", "/containers/json"),
            (c, t) => c.Containers.ListContainersAsync(parameters, t),
            cancellationToken).ConfigureAwait(false);
        return list as IReadOnlyList<ContainerListResponse> ?? list.ToList();
    }

    /// <summary>
    /// <c>GET /containers/{id}/logs</c> as lines: the library separates stdout from stderr (or passes a TTY's output
    /// through); the SDK's reader cuts the frames into lines and parses timestamps.
    /// </summary>
    /// <param name="id">The container.</param>
    /// <param name="follow">Keep streaming new output until cancelled or the container stops.</param>
    /// <param name="timestamps">Prefix each line with the engine's timestamp (parsed into <see cref="DockerLogLine.Timestamp"/>).</param>
    /// <param name="tail">Only the last this many lines; <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    public async IAsyncEnumerable<DockerLogLine> StreamLogsAsync(
        string id,
        bool follow = false,
        bool timestamps = false,
        int? tail = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var parameters = new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Follow = follow,
            Timestamps = timestamps,
            Tail = tail?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all",
        };
        using var stream = await CallAsync(
            new EngineCall("GET", $"/containers/{id}/logs") { ResourceKind = Container, ResourceName = id, Timeout = Timeout.InfiniteTimeSpan },
            (c, t) => c.Containers.GetContainerLogsAsync(id, parameters, t),
            cancellationToken).ConfigureAwait(false);
        await foreach (var line in DockerLogLineReader.ReadLinesAsync(ReadFramesAsync(stream, cancellationToken), timestamps, cancellationToken).ConfigureAwait(false))
        {
            yield return line;
        }
    }

    /// <summary><c>GET /containers/{id}/stats?stream=false</c>: one sample.</summary>
    public Task<ContainerStatsResponse> GetStatsAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);

        // A single sample waits for a second CPU reading; allow for it on top of the call timeout.
        return CallAsync(
            new EngineCall("GET", $"/containers/{id}/stats") { ResourceKind = Container, ResourceName = id, Timeout = Options.RequestTimeout + TimeSpan.FromSeconds(2) },
            async (c, t) =>
            {
                ContainerStatsResponse? sample = null;
                await c.Containers.GetContainerStatsAsync(id, new ContainerStatsParameters { Stream = false }, new SyncProgress<ContainerStatsResponse>(s => sample = s), t).ConfigureAwait(false);
                return sample ?? throw DockerEngineErrors.MalformedStream($"no stats sample for container '{id}'");
            },
            cancellationToken);
    }

    // ---- exec -------------------------------------------------------------------------------------------------------

    /// <summary>Runs a command in a running container and collects stdout, stderr and the exit code.</summary>
    /// <param name="containerId">The container.</param>
    /// <param name="command">The command and its arguments (no shell).</param>
    /// <param name="maxOutputBytes">Output beyond this many bytes per stream is dropped.</param>
    /// <param name="cancellationToken">Cancels the wait (the command itself may keep running in the container).</param>
    public async Task<DockerExecResult> ExecAsync(string containerId, IReadOnlyList<string> command, int maxOutputBytes = 64 * 1024, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(containerId);
        ArgumentNullException.ThrowIfNull(command);
        if (command.Count == 0)
        {
            throw OrchestrationException.InvalidConfiguration("exec command", ["The command is empty; give the program and its arguments."]);
        }

        var created = await CallAsync(
            new EngineCall("POST", $"/containers/{containerId}/exec") { ResourceKind = Container, ResourceName = containerId },
            (c, t) => c.Exec.CreateContainerExecAsync(containerId, new ContainerExecCreateParameters { AttachStdout = true, AttachStderr = true, Cmd = command.ToList() }, t),
            cancellationToken).ConfigureAwait(false);
        var execId = created.ID;
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        using var combined = new MemoryStream();
        using (var stream = await CallAsync(
                   new EngineCall("POST", $"/exec/{execId}/start") { ResourceKind = "exec", ResourceName = execId, Timeout = Timeout.InfiniteTimeSpan, Retry = false },
                   (c, t) => c.Exec.StartContainerExecAsync(execId, new ContainerExecStartParameters(), t),
                   cancellationToken).ConfigureAwait(false))
        {
            await foreach (var frame in ReadFramesAsync(stream, cancellationToken).ConfigureAwait(false))
            {
                foreach (var target in new[] { frame.Stream == DockerStreamKind.Stderr ? stderr : stdout, combined })
                {
                    var room = (int)Math.Max(0, maxOutputBytes - target.Length);
                    target.Write(frame.Payload.Span[..Math.Min(room, frame.Payload.Length)]);
                }
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
            (int)inspect.ExitCode.Value,
            Encoding.UTF8.GetString(stdout.ToArray()),
            Encoding.UTF8.GetString(stderr.ToArray()),
            Encoding.UTF8.GetString(combined.ToArray()));
    }

    private Task<ContainerExecInspectResponse> InspectExecAsync(string execId, CancellationToken cancellationToken) =>
        CallAsync(
            new EngineCall("GET", $"/exec/{execId}/json") { ResourceKind = "exec", ResourceName = execId },
            (c, t) => c.Exec.InspectContainerExecAsync(execId, t),
            cancellationToken);

    // ---- images -----------------------------------------------------------------------------------------------------

    /// <summary><c>GET /images/{name}/json</c>.</summary>
    public Task<ImageInspectResponse> InspectImageAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return CallAsync(
            new EngineCall("GET", $"/images/{name}/json") { ResourceKind = "image", ResourceName = name },
            (c, t) => c.Images.InspectImageAsync(name, t),
            cancellationToken);
    }

    /// <summary><c>GET /images/json</c>, optionally filtered by labels.</summary>
    public async Task<IReadOnlyList<ImagesListResponse>> ListImagesAsync(IReadOnlyDictionary<string, string?>? labels = null, CancellationToken cancellationToken = default)
    {
        var parameters = new ImagesListParameters { Filters = labels is { Count: > 0 } ? LabelFilters(labels) : null };
        var list = await CallAsync(new EngineCall("GET", "/images/json"), (c, t) => c.Images.ListImagesAsync(parameters, t), cancellationToken).ConfigureAwait(false);
        return list as IReadOnlyList<ImagesListResponse> ?? list.ToList();
    }

    /// <summary>
    /// <c>POST /images/create?fromImage=…</c>: pulls <paramref name="reference"/> from its registry. The engine answers
    /// 200 and reports failures inside the progress stream; those become a <see cref="DockerEngineException"/> of kind
    /// <see cref="OrchestrationErrorKind.ImagePullFailed"/> carrying the registry's answer.
    /// </summary>
    /// <param name="reference">The image: <c>name:tag</c>, <c>name@sha256:…</c>, or a bare name (<c>latest</c>).</param>
    /// <param name="auth">Credentials for the image's registry, when it needs them.</param>
    /// <param name="progress">Receives the engine's progress messages.</param>
    /// <param name="cancellationToken">Cancels the pull.</param>
    public async Task PullImageAsync(string reference, AuthConfig? auth, IProgress<JSONMessage>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        var (image, tag) = ImageReference.SplitForPull(reference);
        JSONMessage? failure = null;
        var relay = new SyncProgress<JSONMessage>(message =>
        {
            if (message.Error is not null)
            {
                failure ??= message;
            }

            progress?.Report(message);
        });
        try
        {
            await CallAsync(
                new EngineCall("POST", "/images/create") { ResourceKind = "image", ResourceName = reference, Timeout = Timeout.InfiniteTimeSpan, Retry = false },
                (c, t) => c.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = image, Tag = tag }, auth ?? new AuthConfig(), relay, t),
                cancellationToken).ConfigureAwait(false);
        }
        catch (DockerEngineException exception) when (exception.Kind is OrchestrationErrorKind.NotFound or OrchestrationErrorKind.Unauthorized or OrchestrationErrorKind.InvalidConfiguration
                                                          || (exception.Kind == OrchestrationErrorKind.RuntimeUnavailable && exception.StatusCode is not null))
        {
            throw DockerEngineErrors.PullFailed(reference, exception.EngineMessage ?? exception.Message, exception.StatusCode, exception);
        }

        if (failure is not null)
        {
            throw DockerEngineErrors.PullFailed(reference, failure.Error!.Message, statusCode: null, cause: null);
        }
    }

    /// <summary>
    /// <c>POST /images/create?fromSrc=-</c>: imports a root filesystem tarball as <paramref name="repository"/>:<paramref name="tag"/>,
    /// applying Dockerfile <paramref name="changes"/> (CMD, ENTRYPOINT, ENV, EXPOSE, USER, WORKDIR, HEALTHCHECK, …).
    /// </summary>
    /// <returns>The new image's id.</returns>
    public async Task<string> ImportImageAsync(Stream rootFilesystemTar, string repository, string tag, IEnumerable<string>? changes = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rootFilesystemTar);
        ArgumentException.ThrowIfNullOrWhiteSpace(repository);
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        var messages = new List<JSONMessage>();
        var parameters = new ImagesCreateParameters { FromSrc = "-", Repo = repository, Tag = tag, Changes = changes?.ToList() };
        await CallAsync(
            new EngineCall("POST", "/images/create") { ResourceKind = "image", ResourceName = repository + ":" + tag, Timeout = Timeout.InfiniteTimeSpan, Retry = false },
            (c, t) => c.Images.CreateImageAsync(parameters, new CallerOwnedStream(rootFilesystemTar), new AuthConfig(), new SyncProgress<JSONMessage>(messages.Add), t),
            cancellationToken).ConfigureAwait(false);
        if (messages.FirstOrDefault(m => m.Error is not null) is { } failed)
        {
            throw new DockerEngineException(OrchestrationErrorKind.InvalidConfiguration, $"The Docker Engine could not import image '{repository}:{tag}': {failed.Error!.Message}", statusCode: null, engineMessage: failed.Error.Message, resourceKind: "image");
        }

        return (await InspectImageAsync(repository + ":" + tag, cancellationToken).ConfigureAwait(false)).ID;
    }

    /// <summary><c>POST /images/load</c>: loads images from a <c>docker save</c> tarball.</summary>
    /// <returns>The engine's progress lines, for example <c>Loaded image: name:tag</c>.</returns>
    public async Task<IReadOnlyList<string>> LoadImageAsync(Stream imageTar, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(imageTar);
        var messages = new List<JSONMessage>();
        await CallAsync(
            new EngineCall("POST", "/images/load") { ResourceKind = "image", Timeout = Timeout.InfiniteTimeSpan, Retry = false },
            (c, t) => c.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, new CallerOwnedStream(imageTar), new SyncProgress<JSONMessage>(messages.Add), t),
            cancellationToken).ConfigureAwait(false);
        return messages.Select(m => (m.Stream ?? m.Status ?? "").Trim()).Where(s => s.Length > 0).ToList();
    }

    /// <summary><c>POST /images/{name}/tag</c>: gives an image another name.</summary>
    public Task TagImageAsync(string source, string repository, string tag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        return CallAsync(
            new EngineCall("POST", $"/images/{source}/tag") { ResourceKind = "image", ResourceName = source },
            (c, t) => c.Images.TagImageAsync(source, new ImageTagParameters { RepositoryName = repository, Tag = tag }, t),
            cancellationToken);
    }

    /// <summary><c>POST /images/{name}/push</c>: pushes <paramref name="repository"/>:<paramref name="tag"/> to its registry.</summary>
    /// <returns>The pushed manifest's digest (<c>sha256:…</c>).</returns>
    public async Task<string> PushImageAsync(string repository, string tag, AuthConfig? auth, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repository);
        var messages = new List<JSONMessage>();
        await CallAsync(
            new EngineCall("POST", $"/images/{repository}/push") { ResourceKind = "image", ResourceName = repository + ":" + tag, Timeout = Timeout.InfiniteTimeSpan },
            (c, t) => c.Images.PushImageAsync(repository, new ImagePushParameters { Tag = tag }, auth ?? new AuthConfig(), new SyncProgress<JSONMessage>(messages.Add), t),
            cancellationToken).ConfigureAwait(false);
        if (messages.FirstOrDefault(m => m.Error is not null) is { } failed)
        {
            throw DockerEngineErrors.PullFailed(repository + ":" + tag, "push refused: " + failed.Error!.Message, statusCode: null, cause: null);
        }

        // The last status reads "<tag>: digest: sha256:… size: …".
        foreach (var status in messages.Select(m => m.Status).Where(s => s is not null).Reverse())
        {
            var at = status!.IndexOf("digest: ", StringComparison.Ordinal);
            if (at >= 0)
            {
                return status[(at + "digest: ".Length)..].Split(' ')[0];
            }
        }

        throw DockerEngineErrors.MalformedStream($"the push of '{repository}:{tag}' reported no digest");
    }

    /// <summary><c>DELETE /images/{name}</c>.</summary>
    public Task RemoveImageAsync(string name, bool force = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return CallAsync(
            new EngineCall("DELETE", $"/images/{name}") { ResourceKind = "image", ResourceName = name },
            (c, t) => c.Images.DeleteImageAsync(name, new ImageDeleteParameters { Force = force }, t),
            cancellationToken);
    }

    // ---- networks and volumes ---------------------------------------------------------------------------------------

    /// <summary><c>POST /networks/create</c>.</summary>
    /// <exception cref="DockerEngineException">A network of that name exists (<see cref="OrchestrationErrorKind.Conflict"/>).</exception>
    public async Task<string> CreateNetworkAsync(NetworksCreateParameters request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);

        // Engines before API 1.44 create a second network of the same name unless asked not to (CheckDuplicate), which
        // the library no longer sends: refuse a taken name here, as newer engines do.
        var byName = new NetworksListParameters { Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [request.Name] = true } } };
        var existing = await CallAsync(new EngineCall("GET", "/networks"), (c, t) => c.Networks.ListNetworksAsync(byName, t), cancellationToken).ConfigureAwait(false);
        if (existing.Any(n => n.Name == request.Name))
        {
            throw DockerEngineErrors.FromResponse(System.Net.HttpStatusCode.Conflict, $"network with name {request.Name} already exists", "POST", "/networks/create", "network", request.Name);
        }

        var response = await CallAsync(
            new EngineCall("POST", "/networks/create") { ResourceKind = "network", ResourceName = request.Name },
            (c, t) => c.Networks.CreateNetworkAsync(request, t),
            cancellationToken).ConfigureAwait(false);
        return response.ID;
    }

    /// <summary><c>GET /networks/{id}</c> by id or name.</summary>
    public Task<NetworkResponse> InspectNetworkAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(idOrName);
        return CallAsync(
            new EngineCall("GET", $"/networks/{idOrName}") { ResourceKind = "network", ResourceName = idOrName },
            (c, t) => c.Networks.InspectNetworkAsync(idOrName, t),
            cancellationToken);
    }

    /// <summary><c>GET /networks</c> filtered by labels.</summary>
    public async Task<IReadOnlyList<NetworkResponse>> ListNetworksAsync(IReadOnlyDictionary<string, string?> labels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var parameters = new NetworksListParameters { Filters = labels.Count > 0 ? LabelFilters(labels) : null };
        var list = await CallAsync(new EngineCall("GET", "/networks"), (c, t) => c.Networks.ListNetworksAsync(parameters, t), cancellationToken).ConfigureAwait(false);
        return list as IReadOnlyList<NetworkResponse> ?? list.ToList();
    }

    /// <summary><c>DELETE /networks/{id}</c>.</summary>
    public Task RemoveNetworkAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(idOrName);
        return CallAsync(
            new EngineCall("DELETE", $"/networks/{idOrName}") { ResourceKind = "network", ResourceName = idOrName },
            (c, t) => c.Networks.DeleteNetworkAsync(idOrName, t),
            cancellationToken);
    }

    /// <summary><c>POST /networks/{id}/connect</c>: attaches a container, reachable under <paramref name="aliases"/>.</summary>
    public Task ConnectNetworkAsync(string network, string containerId, IReadOnlyList<string>? aliases = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(containerId);
        var body = new NetworkConnectParameters { Container = containerId, EndpointConfig = aliases is { Count: > 0 } ? new EndpointSettings { Aliases = aliases.ToList() } : null };
        return CallAsync(
            new EngineCall("POST", $"/networks/{network}/connect") { ResourceKind = "network", ResourceName = network },
            (c, t) => c.Networks.ConnectNetworkAsync(network, body, t),
            cancellationToken);
    }

    /// <summary><c>POST /volumes/create</c>; creating an existing volume returns it unchanged.</summary>
    public Task<VolumeResponse> CreateVolumeAsync(VolumesCreateParameters request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return CallAsync(
            new EngineCall("POST", "/volumes/create") { ResourceKind = "volume", ResourceName = request.Name },
            (c, t) => c.Volumes.CreateAsync(request, t),
            cancellationToken);
    }

    /// <summary><c>GET /volumes</c> filtered by labels.</summary>
    public async Task<IReadOnlyList<VolumeResponse>> ListVolumesAsync(IReadOnlyDictionary<string, string?> labels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var parameters = new VolumesListParameters { Filters = labels.Count > 0 ? LabelFilters(labels) : null };
        var response = await CallAsync(new EngineCall("GET", "/volumes"), (c, t) => c.Volumes.ListAsync(parameters, t), cancellationToken).ConfigureAwait(false);
        return response.Volumes?.ToList() ?? [];
    }

    /// <summary><c>DELETE /volumes/{name}</c>.</summary>
    public Task RemoveVolumeAsync(string name, bool force = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return CallAsync(
            new EngineCall("DELETE", $"/volumes/{name}") { ResourceKind = "volume", ResourceName = name },
            (c, t) => c.Volumes.RemoveAsync(name, force, t),
            cancellationToken);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    private static Dictionary<string, IDictionary<string, bool>> LabelFilters(IEnumerable<KeyValuePair<string, string?>> labels) => new(StringComparer.Ordinal)
    {
        ["label"] = labels.ToDictionary(l => l.Value is null ? l.Key : l.Key + "=" + l.Value, _ => true, StringComparer.Ordinal),
    };

    /// <summary>The library's demultiplexed output as frames for the SDK's line reader.</summary>
    private static async IAsyncEnumerable<DockerStreamFrame> ReadFramesAsync(MultiplexedStream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
            if (read.EOF)
            {
                yield break;
            }

            if (read.Count == 0)
            {
                continue;
            }

            var kind = read.Target == MultiplexedStream.TargetStream.StandardError ? DockerStreamKind.Stderr : DockerStreamKind.Stdout;
            yield return new DockerStreamFrame(kind, buffer.AsSpan(0, read.Count).ToArray());
        }
    }

    /// <summary>Writes <see cref="EngineRestartKind"/> as the engine spells it (<c>no</c>, <c>on-failure</c>, …).</summary>
    private sealed class RestartPolicyKindConverter : System.Text.Json.Serialization.JsonConverter<EngineRestartKind>
    {
        public override EngineRestartKind Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
            reader.GetString() switch
            {
                "no" => EngineRestartKind.No,
                "always" => EngineRestartKind.Always,
                "on-failure" => EngineRestartKind.OnFailure,
                "unless-stopped" => EngineRestartKind.UnlessStopped,
                _ => EngineRestartKind.Undefined,
            };

        public override void Write(System.Text.Json.Utf8JsonWriter writer, EngineRestartKind value, System.Text.Json.JsonSerializerOptions options) =>
            writer.WriteStringValue(value switch
            {
                EngineRestartKind.No => "no",
                EngineRestartKind.Always => "always",
                EngineRestartKind.OnFailure => "on-failure",
                EngineRestartKind.UnlessStopped => "unless-stopped",
                _ => "",
            });
    }

    /// <summary>
    /// Runs the library's progress callbacks on the reading thread, in order (<see cref="Progress{T}"/> would post them
    /// to the thread pool, where they may arrive after the call has returned).
    /// </summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
