using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Cli.Demo;

/// <summary>
/// What differs between the demo on local processes and on Docker: the runtime the orchestrator uses, its owner id,
/// how a component of SampleService runs (a .dll or an image), and how leftovers are found after the deployment is
/// destroyed. The flow and every other check are <see cref="DemoRunner"/>'s, the same for both.
/// </summary>
internal abstract class DemoRuntime : IAsyncDisposable
{
    /// <summary><c>process</c> or <c>docker</c>, as <c>--runtime</c> names it.</summary>
    public abstract string Name { get; }

    /// <summary>The image the instances run, or <see langword="null"/>.</summary>
    public virtual string? Image => null;

    /// <summary>How the instances run, for the progress lines ("local processes", "Docker containers").</summary>
    public abstract string Instances { get; }

    /// <summary>The orchestrator's id, which its instances carry as their owner label.</summary>
    public abstract string VmId { get; }

    /// <summary>Registers the runtime with the orchestrator; <see langword="null"/> keeps the CLI's local-process runtime.</summary>
    public abstract Action<IOrchestrationBuilder>? Configure { get; }

    /// <summary>The component of SampleService with the demo's settings, made runnable on this runtime.</summary>
    public abstract ComponentSpec Workload(ComponentSpec component);

    /// <summary>
    /// After the deployment was destroyed: what of the demo's is still there (empty when nothing), asked of the
    /// runtime or the engine itself rather than of the orchestrator's bookkeeping.
    /// </summary>
    public abstract Task<IReadOnlyList<string>> LeftoversAsync(IWorkloadRuntime runtime, CancellationToken cancellationToken);

    /// <summary>The check's name, e.g. "no process is left".</summary>
    public abstract string NothingLeftCheck { get; }

    /// <summary>
    /// How the running instances of a deployment are isolated, as a check (name, passed, detail), or
    /// <see langword="null"/> when this runtime has nothing to check (local processes).
    /// </summary>
    public virtual Task<(string Name, bool Passed, string Detail)?> IsolationAsync(string deploymentId, CancellationToken cancellationToken)
        => Task.FromResult<(string, bool, string)?>(null);

    /// <summary>Removes every instance of this run's orchestrator, whatever state the demo ended in (failure, Ctrl+C).</summary>
    public virtual async Task RemoveEverythingAsync(IWorkloadRuntime runtime)
    {
        foreach (var deployment in (await runtime.ListOwnedAsync(CancellationToken.None).ConfigureAwait(false)).Where(i => i.OwnerId is null || i.OwnerId == VmId).Select(i => i.DeploymentId).Distinct())
        {
            await runtime.RemoveDeploymentAsync(deployment, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After the orchestrator stopped (nothing is in flight any more): removes what a rollout that was interrupted
    /// mid-step may have created after <see cref="RemoveEverythingAsync"/> ran.
    /// </summary>
    public virtual Task SweepAfterStopAsync() => Task.CompletedTask;

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>SampleService as local processes (the CLI's default runtime).</summary>
internal sealed class ProcessDemoRuntime(string sampleServiceDll) : DemoRuntime
{
    public override string Name => "process";

    public override string Instances => "local processes";

    public override string VmId => Hosting.StateDirectory.VmId;

    public override Action<IOrchestrationBuilder>? Configure => null;

    public override string NothingLeftCheck => "no process is left";

    public override ComponentSpec Workload(ComponentSpec component) => component with { Command = new CommandSpec { FileName = sampleServiceDll } };

    public override async Task<IReadOnlyList<string>> LeftoversAsync(IWorkloadRuntime runtime, CancellationToken cancellationToken)
        => (await runtime.ListOwnedAsync(cancellationToken).ConfigureAwait(false)).Where(i => !i.IsTerminated).Select(i => i.InstanceId).ToList();
}

/// <summary>
/// SampleService as DockLock-hardened containers on a Docker Engine, from an image the demo builds itself (no registry
/// needed): see <see cref="DemoImage"/>. Every run has its own owner id, so its leftovers can be listed by label and
/// another orchestrator on the same engine is never mistaken for one.
/// </summary>
internal sealed class DockerDemoRuntime : DemoRuntime
{
    private readonly DockerEngineClient _client;

    private DockerDemoRuntime(DockerEngineClient client, string image)
    {
        _client = client;
        Image = image;
    }

    public override string Image { get; }

    public override string Name => "docker";

    public override string Instances => "Docker containers";

    public override string VmId { get; } = "bpi-demo-" + Guid.NewGuid().ToString("N")[..8];

    public override Action<IOrchestrationBuilder>? Configure => b => b.AddDocker(o => o.StopTimeout = TimeSpan.FromSeconds(2));

    public override string NothingLeftCheck => "no container, network or volume is left";

    /// <summary>
    /// Checks that an engine answers and <c>/bin/busybox</c> is there, then builds the demo image unless the engine
    /// already has it. Without either prerequisite: a <see cref="CliException"/> with <see cref="ExitCodes.RuntimeUnavailable"/>.
    /// </summary>
    public static async Task<DockerDemoRuntime> OpenAsync(CancellationToken cancellationToken)
    {
        if (DemoImage.MissingPrerequisite is { } missing)
        {
            throw new CliException(ExitCodes.RuntimeUnavailable, $"demo --runtime docker builds its image from {missing} Or run the demo on local processes (--runtime process).");
        }

        var options = new DockerRuntimeOptions { MaxRetryAttempts = 0, RequestTimeout = TimeSpan.FromSeconds(10) };
        var client = new DockerEngineClient(DockerEngineClientOptions.From(options), TimeProvider.System, NullLogger.Instance);
        try
        {
            try
            {
                await client.GetApiVersionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OrchestrationException or IOException or HttpRequestException)
            {
                throw new CliException(ExitCodes.RuntimeUnavailable, $"demo --runtime docker needs a Docker Engine: {ex.Message} Or run the demo on local processes (--runtime process).");
            }

            var image = await DemoImage.EnsureAsync(client, cancellationToken).ConfigureAwait(false);
            return new DockerDemoRuntime(client, image);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override ComponentSpec Workload(ComponentSpec component) => component with
    {
        Image = Image,

        // The whole container (nc, sh, od, awk per request): a little more CPU than the .NET process's share.
        Resources = new ComponentResources { CpuCores = 0.25, MemoryMb = 32 },
    };

    public override async Task<IReadOnlyList<string>> LeftoversAsync(IWorkloadRuntime runtime, CancellationToken cancellationToken)
    {
        var owner = new Dictionary<string, string?> { [WorkloadLabels.Owner] = VmId };
        var left = new List<string>();
        left.AddRange((await _client.ListContainersAsync(owner, all: true, cancellationToken).ConfigureAwait(false)).Select(c => "container " + string.Join(",", c.Names ?? [c.Id])));
        left.AddRange((await _client.ListNetworksAsync(owner, cancellationToken).ConfigureAwait(false)).Select(n => "network " + n.Name));
        left.AddRange((await _client.ListVolumesAsync(owner, cancellationToken).ConfigureAwait(false)).Select(v => "volume " + v.Name));
        return left;
    }

    /// <summary>Inspects every container of the deployment: DockLock's defaults in force, none relaxed.</summary>
    public override async Task<(string Name, bool Passed, string Detail)?> IsolationAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var containers = await _client.ListContainersAsync(new Dictionary<string, string?> { [WorkloadLabels.Deployment] = deploymentId }, all: true, cancellationToken).ConfigureAwait(false);
        var problems = new List<string>();
        foreach (var summary in containers)
        {
            var c = await _client.InspectContainerAsync(summary.Id, cancellationToken).ConfigureAwait(false);
            var name = c.Name?.TrimStart('/') ?? c.Id;
            var user = c.Config?.User ?? "";
            if (user.Length == 0 || user == "0" || user.StartsWith("0:", StringComparison.Ordinal) || user.StartsWith("root", StringComparison.Ordinal))
            {
                problems.Add($"{name} runs as root");
            }

            if (c.HostConfig is not { ReadonlyRootfs: true })
            {
                problems.Add($"{name} has a writable root filesystem");
            }

            if (c.HostConfig?.Tmpfs?.ContainsKey("/tmp") != true)
            {
                problems.Add($"{name} has no tmpfs at /tmp");
            }

            if (c.HostConfig is not { PidsLimit: > 0, NanoCpus: > 0, Memory: > 0 })
            {
                problems.Add($"{name} lacks a PIDs, CPU or memory limit");
            }

            if (c.HostConfig?.CapDrop?.Contains("ALL", StringComparer.OrdinalIgnoreCase) != true)
            {
                problems.Add($"{name} keeps capabilities");
            }

            if (c.HostConfig?.SecurityOpt?.Any(o => o.StartsWith("no-new-privileges", StringComparison.Ordinal)) != true)
            {
                problems.Add($"{name} may gain privileges");
            }

            if (c.Config?.Labels?.GetValueOrDefault(WorkloadLabels.Prefix + "docklock-relaxed") is { } relaxed && relaxed != "none")
            {
                problems.Add($"{name} relaxes {relaxed}");
            }
        }

        var user0 = containers.Count > 0 ? (await _client.InspectContainerAsync(containers[0].Id, cancellationToken).ConfigureAwait(false)).Config?.User : null;
        return ("every container runs DockLock-hardened, nothing relaxed", containers.Count > 0 && problems.Count == 0,
            problems.Count > 0 ? string.Join("; ", problems)
            : $"{containers.Count} container(s) as user {user0}, read-only root filesystem with a tmpfs at /tmp, all capabilities dropped, no-new-privileges, PIDs, CPU and memory limits");
    }

    /// <summary>Removes whatever of this run's owner the engine still holds: containers, networks and volumes.</summary>
    public override async Task RemoveEverythingAsync(IWorkloadRuntime runtime)
    {
        if (runtime is IDockerWorkloadRuntime docker)
        {
            await docker.ReconcileAsync(VmId, new HashSet<string>(), CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            await base.RemoveEverythingAsync(runtime).ConfigureAwait(false);
        }
    }

    public override async Task SweepAfterStopAsync()
    {
        await using var runtime = new DockerWorkloadRuntime(_client, new DockerRuntimeOptions { StopTimeout = TimeSpan.FromSeconds(2) }, TimeProvider.System, NullLogger.Instance);
        await runtime.ReconcileAsync(VmId, new HashSet<string>(), CancellationToken.None).ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
