using System.Text.Json;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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

    /// <summary>
    /// Kills one instance the hard way (SIGKILL: no graceful shutdown), for the demo's self-healing step; returns
    /// <see langword="false"/> when this runtime cannot (the step is then skipped, and says so).
    /// </summary>
    public virtual Task<bool> KillAsync(WorkloadInstance instance, CancellationToken cancellationToken) => Task.FromResult(false);

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
    /// <param name="state">The demo's state directory.</param>
    public virtual Task SweepAfterStopAsync(StateDirectory state) => Task.CompletedTask;

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

    /// <summary>Finds the instance's process by the <c>BPI_INSTANCE_ID</c> the runtime gives it (in <c>/proc</c>, so Linux only) and sends it SIGKILL.</summary>
    public override Task<bool> KillAsync(WorkloadInstance instance, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            return Task.FromResult(false);
        }

        var marker = System.Text.Encoding.UTF8.GetBytes("BPI_INSTANCE_ID=" + instance.InstanceId + "\0");
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            byte[] environment;
            try
            {
                environment = File.ReadAllBytes(Path.Combine(directory, "environ"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // ended meanwhile, or not ours
            }

            if (environment.AsSpan().IndexOf(marker) < 0 && !environment.AsSpan().StartsWith(marker.AsSpan(0, marker.Length - 1)))
            {
                continue;
            }

            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill(); // SIGKILL
                return Task.FromResult(true);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                return Task.FromResult(false);
            }
        }

        return Task.FromResult(false);
    }

    public override async Task<IReadOnlyList<string>> LeftoversAsync(IWorkloadRuntime runtime, CancellationToken cancellationToken)
        => (await runtime.ListOwnedAsync(cancellationToken).ConfigureAwait(false)).Where(i => !i.IsTerminated).Select(i => i.InstanceId).ToList();

    /// <summary>
    /// The orchestrator's runtime was disposed with it: a runtime of our own on the same process state directory adopts
    /// whatever a rollout step or a self-healing repair started after <see cref="DemoRuntime.RemoveEverythingAsync"/> ran
    /// (they keep running until the orchestrator stops), and removes it.
    /// </summary>
    public override async Task SweepAfterStopAsync(StateDirectory state)
    {
        await using var sweeper = new ProcessWorkloadRuntime(Options.Create(new ProcessRuntimeOptions { StateDirectory = state.Processes, GracePeriod = TimeSpan.FromSeconds(5) }));
        await RemoveEverythingAsync(sweeper).ConfigureAwait(false);
    }
}

/// <summary>
/// SampleService as DockLock-hardened containers on a Docker Engine, from an image the demo builds itself (no registry
/// needed): see <see cref="DemoImage"/>. Every run has its own owner id, so its leftovers can be listed by label and
/// another orchestrator on the same engine is never mistaken for one. The demo's own look at the engine (image import,
/// leftovers, isolation) goes through a Docker runtime of its own, through the runtime's public interface only.
/// </summary>
internal sealed class DockerDemoRuntime : DemoRuntime
{
    private readonly ServiceProvider _engine;
    private readonly IDockerWorkloadRuntime _docker;

    private DockerDemoRuntime(ServiceProvider engine, string vmId, string image)
    {
        _engine = engine;
        _docker = engine.GetRequiredService<IDockerWorkloadRuntime>();
        VmId = vmId;
        Image = image;
    }

    public override string Image { get; }

    public override string Name => "docker";

    public override string Instances => "Docker containers";

    public override string VmId { get; }

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

        var vmId = "bpi-demo-" + Guid.NewGuid().ToString("N")[..8];
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = vmId).AddDocker(o =>
        {
            o.MaxRetryAttempts = 0;
            o.RequestTimeout = TimeSpan.FromSeconds(10);
            o.StopTimeout = TimeSpan.FromSeconds(2);
        });
        var engine = services.BuildServiceProvider();
        try
        {
            string image;
            try
            {
                image = await DemoImage.EnsureAsync(engine.GetRequiredService<IDockerImageImporter>(), cancellationToken).ConfigureAwait(false);
            }
            catch (DockerEngineException ex) when (ex.Kind is OrchestrationErrorKind.RuntimeUnavailable or OrchestrationErrorKind.Timeout)
            {
                throw new CliException(ExitCodes.RuntimeUnavailable, $"demo --runtime docker needs a Docker Engine: {ex.Message} Or run the demo on local processes (--runtime process).");
            }

            return new DockerDemoRuntime(engine, vmId, image);
        }
        catch
        {
            await engine.DisposeAsync().ConfigureAwait(false);
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
        var owned = await _docker.ListOwnedObjectsAsync(VmId, cancellationToken).ConfigureAwait(false);
        return
        [
            .. owned.Containers.Select(c => "container " + c),
            .. owned.Networks.Select(n => "network " + n),
            .. owned.Volumes.Select(v => "volume " + v),
        ];
    }

    /// <summary>Inspects every container of the deployment: DockLock's defaults in force, none relaxed.</summary>
    public override async Task<(string Name, bool Passed, string Detail)?> IsolationAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var inspections = await _docker.InspectDeploymentAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        var problems = new List<string>();
        string? firstUser = null;
        foreach (var inspection in inspections)
        {
            using var document = JsonDocument.Parse(inspection.Document);
            var c = document.RootElement;
            var config = c.TryGetProperty("Config", out var cfg) && cfg.ValueKind == JsonValueKind.Object ? cfg : default;
            var host = c.TryGetProperty("HostConfig", out var hc) && hc.ValueKind == JsonValueKind.Object ? hc : default;
            var name = String(c, "Name")?.TrimStart('/') ?? inspection.InstanceId;
            var user = String(config, "User") ?? "";
            firstUser ??= user;
            if (user.Length == 0 || user == "0" || user.StartsWith("0:", StringComparison.Ordinal) || user.StartsWith("root", StringComparison.Ordinal))
            {
                problems.Add($"{name} runs as root");
            }

            if (!Bool(host, "ReadonlyRootfs"))
            {
                problems.Add($"{name} has a writable root filesystem");
            }

            if (!(host.ValueKind == JsonValueKind.Object && host.TryGetProperty("Tmpfs", out var tmpfs) && tmpfs.ValueKind == JsonValueKind.Object && tmpfs.TryGetProperty("/tmp", out _)))
            {
                problems.Add($"{name} has no tmpfs at /tmp");
            }

            if (!(Long(host, "PidsLimit") > 0 && Long(host, "NanoCpus") > 0 && Long(host, "Memory") > 0))
            {
                problems.Add($"{name} lacks a PIDs, CPU or memory limit");
            }

            if (!Strings(host, "CapDrop").Contains("ALL", StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"{name} keeps capabilities");
            }

            if (!Strings(host, "SecurityOpt").Any(o => o.StartsWith("no-new-privileges", StringComparison.Ordinal)))
            {
                problems.Add($"{name} may gain privileges");
            }

            if (config.ValueKind == JsonValueKind.Object && config.TryGetProperty("Labels", out var labels) && String(labels, WorkloadLabels.Prefix + "docklock-relaxed") is { } relaxed && relaxed != "none")
            {
                problems.Add($"{name} relaxes {relaxed}");
            }
        }

        return ("every container runs DockLock-hardened, nothing relaxed", inspections.Count > 0 && problems.Count == 0,
            problems.Count > 0 ? string.Join("; ", problems)
            : $"{inspections.Count} container(s) as user {firstUser}, read-only root filesystem with a tmpfs at /tmp, all capabilities dropped, no-new-privileges, PIDs, CPU and memory limits");
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

    public override async Task SweepAfterStopAsync(StateDirectory state)
        => await _docker.ReconcileAsync(VmId, new HashSet<string>(), CancellationToken.None).ConfigureAwait(false);

    public override async ValueTask DisposeAsync()
    {
        await _engine.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private static string? String(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool Bool(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    private static long Long(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : 0;

    private static IEnumerable<string> Strings(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)
            : [];
}
