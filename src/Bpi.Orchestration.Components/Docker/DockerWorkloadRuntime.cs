using EngineRestartKind = Docker.DotNet.Models.RestartPolicyKind;
using System.Collections.Concurrent;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Components.Docker.DockLock;
using Bpi.Orchestration.Components.Docker.Engine;
using Docker.DotNet.Models;
using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>
/// Runs each workload instance as a DockLock-hardened container on the Docker Engine. A component revision's replica
/// set is the set of containers carrying its <c>bpi.orchestration/*</c> labels; each deployment gets its own bridge
/// network (components reach each other by component id), published ports are bound to
/// <see cref="DockerRuntimeOptions.PublishAddress"/> on engine-chosen host ports, and a component's named volumes live
/// as long as its deployment. Scaling, listing and removal live in the partial files beside this one.
/// </summary>
internal sealed partial class DockerWorkloadRuntime : IDockerWorkloadRuntime, IDisposable
{
    private const int MaxExecOutputBytes = 64 * 1024;

    private static readonly TimeSpan DependencyPollInterval = TimeSpan.FromMilliseconds(250);

    private readonly DockerEngine _client;
    private readonly bool _ownsClient;
    private readonly DockerRuntimeOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly IAuditSink? _audit;
    private readonly DockerImagePuller _puller;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _revisionGates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _deploymentGates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _auditedRevisions = new(StringComparer.Ordinal);
    private int _disposed;

    public DockerWorkloadRuntime(DockerEngine client, DockerRuntimeOptions options, TimeProvider timeProvider, ILogger logger, IAuditSink? audit = null, bool ownsClient = false)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _client = client;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _audit = audit;
        _ownsClient = ownsClient;
        _puller = new DockerImagePuller(client, options, timeProvider, logger);
    }

    public string Name => "docker";

    internal DockerEngine Client => _client;

    internal DockerRuntimeOptions Options => _options;

    /// <summary>Extra network aliases and labels for the containers a revision is about to create (see <see cref="DockerContainerExtras"/>); <see langword="null"/> adds none.</summary>
    internal DockerContainerExtrasSource? ContainerExtras { get; set; }

    /// <summary>Makes sure the engine has <paramref name="image"/>, pulling it when absent (with the runtime's registry credentials).</summary>
    internal Task EnsureImageAsync(string image, CancellationToken cancellationToken)
        => _puller.EnsureAsync(image, ImagePullPolicy.IfNotPresent, progress: null, cancellationToken);

    public async ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revision);
        ThrowIfDisposed();
        if (replicas < 0)
        {
            throw OrchestrationException.InvalidConfiguration($"Replica count of component '{revision.Component.Id}'", [$"replicas is {replicas}; use 0 or more."]);
        }

        var policy = replicas > 0 ? ResolvePolicy(revision.Component) : null;
        var gate = _revisionGates.GetOrAdd(RevisionKey(revision.DeploymentId, revision.Component.Id, revision.Revision), static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var existing = await _client.ListContainersAsync(RevisionFilter(revision), all: true, cancellationToken).ConfigureAwait(false);
            if (existing.Count == replicas)
            {
                return;
            }

            Log.Scaling(_logger, revision.DeploymentId, revision.Component.Id, revision.Revision, existing.Count, replicas);
            if (existing.Count > replicas)
            {
                var surplus = replicas == 0 ? existing : await ChooseSurplusAsync(existing, existing.Count - replicas, cancellationToken).ConfigureAwait(false);
                await RemoveContainersAsync(surplus.Select(c => c.ID).ToList(), revision.DeploymentId, cancellationToken).ConfigureAwait(false);
                return;
            }

            await CreateMissingAsync(revision, policy!, existing, replicas - existing.Count, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    public async ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        ThrowIfDisposed();
        var filter = new Dictionary<string, string?>(StringComparer.Ordinal) { [WorkloadLabels.Deployment] = deploymentId };
        if (componentId is not null)
        {
            filter[WorkloadLabels.Component] = componentId;
        }

        if (revision is { } r)
        {
            filter[WorkloadLabels.Revision] = r.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return await InspectInstancesAsync(filter, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return await InspectInstancesAsync(new Dictionary<string, string?> { [WorkloadLabels.Owner] = null }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        ArgumentOutOfRangeException.ThrowIfNegative(lines);
        ThrowIfDisposed();
        if (lines == 0)
        {
            return [];
        }

        var container = await _client.InspectContainerAsync(instanceId, cancellationToken).ConfigureAwait(false);
        return await ReadLogTailAsync(container.ID, container.Config?.Tty ?? false, lines, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<CommandResult> ExecAsync(WorkloadInstance instance, IReadOnlyList<string> command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(command);
        ThrowIfDisposed();
        var result = await _client.ExecAsync(instance.InstanceId, command, MaxExecOutputBytes, cancellationToken).ConfigureAwait(false);
        return new CommandResult(result.ExitCode, result.Output);
    }

    /// <summary>Stops the events watch (awaiting it) and disposes the engine client when the runtime owns it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await StopEventWatch().ConfigureAwait(false);
            if (_ownsClient)
            {
                await _client.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops the events watch (waiting for it) and disposes the engine client when the runtime owns it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            WaitForWatch(StopEventWatch());
            if (_ownsClient)
            {
                _client.Dispose();
            }
        }
    }

    private DockLockPolicy ResolvePolicy(ComponentSpec component)
    {
        var policy = DockLockPolicy.Resolve(component, _options);
        if (string.IsNullOrWhiteSpace(component.Image))
        {
            throw OrchestrationException.InvalidConfiguration($"Component '{component.Id}'", ["Image is empty; the Docker runtime runs container images (set ComponentSpec.Image)."]);
        }

        return policy;
    }

    private async Task CreateMissingAsync(WorkloadRevision revision, DockLockPolicy policy, IReadOnlyList<ContainerListResponse> existing, int count, CancellationToken cancellationToken)
    {
        var component = revision.Component;
        var image = await _puller.EnsureAsync(component.Image!, component.PullPolicy, revision.Progress, cancellationToken).ConfigureAwait(false);
        var network = await EnsureNetworkAsync(revision, cancellationToken).ConfigureAwait(false);
        var mounts = await EnsureVolumesAsync(revision, policy, cancellationToken).ConfigureAwait(false);
        await WaitForDependenciesAsync(revision, cancellationToken).ConfigureAwait(false);
        await AuditRelaxationsAsync(revision, policy, cancellationToken).ConfigureAwait(false);

        var user = policy.ResolveUser(image.Config?.User, _options);
        var started = new ConcurrentBag<string>();
        var names = Enumerable.Range(0, count).Select(_ => DockerNaming.NewContainerName(revision)).ToList();
        var extras = ContainerExtras?.Invoke(revision, existing, names);
        await Parallel.ForEachAsync(
            names,
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxParallelOperations, CancellationToken = cancellationToken },
            async (name, token) =>
            {
                var request = DockerContainerRequestBuilder.Build(revision, policy, _options, name, user, network, mounts, extras?.GetValueOrDefault(name));
                var created = await _client.CreateContainerAsync(request, token).ConfigureAwait(false);
                Log.ContainerCreated(_logger, name, created.ID, component.Image!);
                try
                {
                    await _client.StartContainerAsync(created.ID, token).ConfigureAwait(false);
                }
                catch (DockerEngineException exception) when (!exception.IsTransient && exception.Kind != OrchestrationErrorKind.NotFound)
                {
                    throw await StartupFailureAsync(revision, name, exception.EngineMessage ?? exception.Message, context: null, exception, token).ConfigureAwait(false);
                }

                started.Add(name);
            }).ConfigureAwait(false);

        await CheckStartupAsync(revision, policy, started.ToList(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Watches newly started containers for <see cref="DockerRuntimeOptions.StartupCheckWindow"/>; the first that exits fails the call.</summary>
    private async Task CheckStartupAsync(WorkloadRevision revision, DockLockPolicy policy, List<string> containers, CancellationToken cancellationToken)
    {
        if (containers.Count == 0)
        {
            return;
        }

        var window = _options.StartupCheckWindow;
        var failures = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(
            containers,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(containers.Count, 1), CancellationToken = cancellationToken },
            async (name, token) =>
            {
                if (window > TimeSpan.Zero)
                {
                    using var windowSource = new CancellationTokenSource(window, _timeProvider);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, windowSource.Token);
                    try
                    {
                        await _client.WaitContainerAsync(name, linked.Token).ConfigureAwait(false);
                        failures.Add(name);
                        return;
                    }
                    catch (OperationCanceledException) when (windowSource.IsCancellationRequested && !token.IsCancellationRequested)
                    {
                        // Still running when the window closed. With a restart policy an exit shows as a restart instead.
                        if (policy.RestartPolicy.Name == EngineRestartKind.No)
                        {
                            return;
                        }
                    }
                }

                // Without a window: one look right after the start. With a restart policy: an exit restarted the container.
                var inspect = await _client.InspectContainerAsync(name, token).ConfigureAwait(false);
                if (inspect.State is not { Running: true, Restarting: false } || inspect.RestartCount > 0)
                {
                    failures.Add(name);
                }
            }).ConfigureAwait(false);

        if (!failures.IsEmpty)
        {
            var first = failures.Order(StringComparer.Ordinal).First();
            var context = failures.Count == 1 ? null : $"{failures.Count} of {containers.Count} new containers stopped during startup; the first";
            throw await StartupFailureAsync(revision, first, reason: null, context, innerException: null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Collects a failed container's exit code and last log lines into the exception EnsureReplicasAsync throws.</summary>
    /// <param name="revision">The revision being scaled.</param>
    /// <param name="container">The failed container.</param>
    /// <param name="reason">Why, when known (the engine's refusal to start); otherwise read from the container's state.</param>
    /// <param name="context">Put before the reason, for example how many containers failed.</param>
    /// <param name="innerException">The engine error, if any.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    private async Task<ContainerStartupException> StartupFailureAsync(WorkloadRevision revision, string container, string? reason, string? context, Exception? innerException, CancellationToken cancellationToken)
    {
        int? exitCode = null;
        IReadOnlyList<string> logTail = [];
        try
        {
            var inspect = await _client.InspectContainerAsync(container, cancellationToken).ConfigureAwait(false);
            var state = inspect.State;
            exitCode = state is { Running: false } || state?.Restarting == true ? (int)state.ExitCode : null;
            if (reason is null && inspect.RestartCount > 0 && state is { Running: true, Restarting: false })
            {
                // Running again after a restart: the engine has reset the exit code, the restart count tells what happened.
                reason = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"it exited and was restarted {inspect.RestartCount} time(s) by its restart policy");
            }

            reason ??= state is null ? "it stopped" : DockerInstanceMapper.MapState(state).Message ?? "it stopped";
            if (inspect.RestartCount > 0 && !reason.Contains("restart", StringComparison.Ordinal))
            {
                reason += string.Create(System.Globalization.CultureInfo.InvariantCulture, $" (after {inspect.RestartCount} restart(s) by its restart policy)");
            }
            logTail = await ReadLogTailAsync(inspect.ID, inspect.Config?.Tty ?? false, _options.StartupFailureLogLines, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerEngineException exception)
        {
            reason ??= "it stopped, and its state could not be read: " + exception.Message;
        }

        reason = context is null ? reason : context + " " + reason;
        var secrets = revision.Component.Secrets.Values.Where(v => v.Length > 0).ToList();
        reason = Redact(reason, secrets);
        logTail = logTail.Select(line => Redact(line, secrets)).ToList();
        Log.ContainerStartupFailed(_logger, container, exitCode, reason);
        return new ContainerStartupException(container, revision.DeploymentId, revision.Component.Id, revision.Revision, exitCode, logTail, reason, innerException);
    }

    private async Task<IReadOnlyList<string>> ReadLogTailAsync(string containerId, bool tty, int lines, CancellationToken cancellationToken)
    {
        var tail = new Queue<string>(lines);
        await foreach (var line in _client.StreamLogsAsync(containerId, follow: false, timestamps: false, tail: lines, cancellationToken).ConfigureAwait(false))
        {
            if (tail.Count == lines)
            {
                tail.Dequeue();
            }

            tail.Enqueue(line.Text);
        }

        return tail.ToList();
    }

    private async Task WaitForDependenciesAsync(WorkloadRevision revision, CancellationToken cancellationToken)
    {
        foreach (var dependency in revision.Component.DependsOn)
        {
            using var deadline = new CancellationTokenSource(_options.DependencyTimeout, _timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            try
            {
                while (!await IsDependencyReadyAsync(revision, dependency, linked.Token).ConfigureAwait(false))
                {
                    Log.WaitingForDependency(_logger, revision.DeploymentId, revision.Component.Id, dependency);
                    await Task.Delay(DependencyPollInterval, _timeProvider, linked.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.DeploymentFailed,
                    $"Component '{revision.Component.Id}' of deployment '{revision.DeploymentId}' depends on '{dependency}', which has no running and healthy container after {_options.DependencyTimeout.TotalSeconds:0.#} s. Check why '{dependency}' is not ready, or raise DockerRuntimeOptions.DependencyTimeout.");
            }
        }
    }

    private async Task<bool> IsDependencyReadyAsync(WorkloadRevision revision, string dependency, CancellationToken cancellationToken)
    {
        var filter = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [WorkloadLabels.Deployment] = revision.DeploymentId,
            [WorkloadLabels.Component] = dependency,
        };
        var containers = await _client.ListContainersAsync(filter, all: true, cancellationToken).ConfigureAwait(false);
        if (containers.Count == 0)
        {
            throw new OrchestrationException(
                OrchestrationErrorKind.DeploymentFailed,
                $"Component '{revision.Component.Id}' of deployment '{revision.DeploymentId}' depends on '{dependency}', which has no containers. Components start in dependency order: ensure '{dependency}' first.");
        }

        foreach (var summary in containers.Where(c => c.State == "running"))
        {
            var state = (await _client.InspectContainerAsync(summary.ID, cancellationToken).ConfigureAwait(false)).State;
            if (state is { Running: true, Restarting: false } && (state.Health is null || state.Health.Status is "healthy" or "none" or null))
            {
                return true;
            }
        }

        return false;
    }

    private async Task AuditRelaxationsAsync(WorkloadRevision revision, DockLockPolicy policy, CancellationToken cancellationToken)
    {
        if (policy.Settings.AddCapabilities.Count > 0)
        {
            Log.DockLockCapabilitiesAdded(_logger, string.Join(',', policy.Settings.AddCapabilities), revision.DeploymentId, revision.Component.Id);
        }

        if (policy.Settings.Relaxations.Count == 0 || !_auditedRevisions.TryAdd(RevisionKey(revision.DeploymentId, revision.Component.Id, revision.Revision), true))
        {
            return;
        }

        foreach (var relaxation in policy.Settings.Relaxations)
        {
            Log.DockLockRelaxed(_logger, relaxation.Setting, revision.DeploymentId, revision.Component.Id, revision.Revision, relaxation.Reason);
            if (_audit is not null)
            {
                await _audit.AppendAsync(
                    new AuditEvent(
                        _timeProvider.GetUtcNow(),
                        OrchestrationActor.Current.Id,
                        DockLockSettings.RelaxationAuditAction,
                        revision.DeploymentId,
                        "applied",
                        new Dictionary<string, string?>
                        {
                            ["component"] = revision.Component.Id,
                            ["revision"] = revision.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            ["setting"] = relaxation.Setting,
                            ["value"] = relaxation.Value,
                            ["reason"] = relaxation.Reason,
                            ["runtime"] = Name,
                        }),
                    cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<IReadOnlyList<ContainerListResponse>> ChooseSurplusAsync(IReadOnlyList<ContainerListResponse> containers, int count, CancellationToken cancellationToken)
    {
        // Failed and not-ready containers go first, then the newest.
        var ranked = new List<(ContainerListResponse Container, int Rank)>();
        foreach (var container in containers)
        {
            var rank = 2;
            if (container.State != "running")
            {
                rank = 0;
            }
            else
            {
                try
                {
                    var health = (await _client.InspectContainerAsync(container.ID, cancellationToken).ConfigureAwait(false)).State?.Health?.Status;
                    rank = health is "unhealthy" or "starting" ? 1 : 2;
                }
                catch (DockerEngineException exception) when (exception.Kind == OrchestrationErrorKind.NotFound)
                {
                    rank = 0;
                }
            }

            ranked.Add((container, rank));
        }

        return ranked.OrderBy(r => r.Rank).ThenByDescending(r => r.Container.Created).Take(count).Select(r => r.Container).ToList();
    }

    private async Task<IReadOnlyList<WorkloadInstance>> InspectInstancesAsync(IReadOnlyDictionary<string, string?> filter, CancellationToken cancellationToken)
    {
        var containers = await _client.ListContainersAsync(filter, all: true, cancellationToken).ConfigureAwait(false);
        var instances = new WorkloadInstance?[containers.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, containers.Count),
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxParallelOperations, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                try
                {
                    var inspect = await _client.InspectContainerAsync(containers[index].ID, token).ConfigureAwait(false);
                    instances[index] = DockerInstanceMapper.ToInstance(inspect, _options.PublishAddress);
                }
                catch (DockerEngineException exception) when (exception.Kind == OrchestrationErrorKind.NotFound)
                {
                    // Removed between the list and the inspect.
                }
            }).ConfigureAwait(false);
        return instances.Where(i => i is not null).Select(i => i!)
            .OrderBy(i => i.ComponentId, StringComparer.Ordinal).ThenBy(i => i.Revision).ThenBy(i => i.StartedAt ?? DateTimeOffset.MaxValue).ThenBy(i => i.InstanceId, StringComparer.Ordinal)
            .ToList();
    }

    private static Dictionary<string, string?> RevisionFilter(WorkloadRevision revision) => new(StringComparer.Ordinal)
    {
        [WorkloadLabels.Deployment] = revision.DeploymentId,
        [WorkloadLabels.Component] = revision.Component.Id,
        [WorkloadLabels.Revision] = revision.Revision.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string RevisionKey(string deploymentId, string componentId, int revision) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{deploymentId}\n{componentId}\n{revision}");

    private static string Redact(string text, IReadOnlyList<string> secrets)
    {
        foreach (var secret in secrets)
        {
            text = text.Replace(secret, "***", StringComparison.Ordinal);
        }

        return text;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
