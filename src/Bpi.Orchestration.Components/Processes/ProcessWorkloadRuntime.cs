using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Bpi.Orchestration.Components;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Processes;

/// <summary>
/// The local-process runtime: every instance is a child process of the orchestrator's machine with its own loopback
/// port, working directory and captured output. The embedded default for development, CI and hosts without Docker.
/// </summary>
/// <remarks>
/// <para><b>What an instance gets.</b> The component's <see cref="CommandSpec"/> (a <c>.dll</c> runs as
/// <c>dotnet &lt;dll&gt;</c>, a <c>.csproj</c> as <c>dotnet run --project</c>; relative paths are resolved against
/// the orchestrator's current directory), a working directory of its own (<see cref="CommandSpec.WorkingDirectory"/>, or a fresh
/// directory under the state directory that is deleted with the instance), and the environment: the component's
/// variables and secrets, then <c>PORT</c> (the first port), <c>PORT_{NAME}</c> for every port,
/// <c>ASPNETCORE_URLS=http://127.0.0.1:{port}</c> for the first TCP port, <c>BPI_INSTANCE_ID</c>,
/// <c>BPI_DEPLOYMENT_ID</c>, <c>BPI_COMPONENT_ID</c> and <c>BPI_REVISION</c>. Each <see cref="PortSpec"/> gets a free
/// loopback port chosen by the OS (its <see cref="PortSpec.ContainerPort"/> is not used); the instance's endpoints are
/// <c>127.0.0.1:{port}</c>. Secrets are handed over only in the environment at process start; they are never logged
/// nor written to the state file, and secret values (4 characters or longer) are replaced by <c>***</c> in captured output.</para>
/// <para><b>States.</b> <c>Starting</c> until the process runs and, for a component with ports (when
/// <see cref="ProcessRuntimeOptions.WaitForPorts"/> is on), until its first TCP port accepts a connection; then
/// <c>Running</c>. When the process ends by itself: <c>Exited</c> with exit code 0, <c>Failed</c> with any other code
/// (<c>128 + n</c> when killed by signal n); when the runtime stopped it: <c>Exited</c>. Ended instances are kept
/// (and counted as replicas) until removed, so failures stay visible.</para>
/// <para><b>Stopping.</b> SIGTERM to the process, then, after <see cref="ProcessRuntimeOptions.GracePeriod"/> (on the
/// registered <see cref="TimeProvider"/>), <see cref="Process.Kill(bool)"/> of its whole process tree. Whether it exited
/// in time or not, whatever remains of its process group and of the descendants seen before the SIGTERM is then
/// killed (SIGKILL), as Docker does when a container's main process ends. On Windows there is no SIGTERM: the tree is killed.</para>
/// <para><b>Restarts and orphans.</b> The pid, start time (<c>/proc/&lt;pid&gt;/stat</c>) and
/// <c>bpi.orchestration/*</c> labels of every instance are kept in <c>instances.json</c> in the state directory. A new
/// runtime on the same directory adopts processes whose pid still has the recorded start time and reports them (with
/// their <see cref="WorkloadInstance.OwnerId"/>) from <see cref="ListOwnedAsync"/>, so the orchestrator can reconcile
/// or remove them; an entry whose pid has ended or was recycled by another process is reported <c>Exited</c> and that pid
/// is never signalled. A lock file keeps two runtimes from sharing a directory. Every instance is written to the table
/// before its process starts, and every process carries an owner marker in its environment
/// (<c>BPI_ORCHESTRATION_STATE_DIRECTORY</c> and <c>BPI_ORCHESTRATION_RECORD</c>, inherited by its children): on open
/// the runtime scans <c>/proc</c> (Linux) and adopts every marked process of its directory, so neither a runtime killed
/// mid-start nor a missing, corrupt or edited table leaves a process that <see cref="ListOwnedAsync"/> does not report.
/// A table that is a directory or cannot be read fails every call (<see cref="OrchestrationErrorKind.InvalidConfiguration"/>).</para>
/// <para><b>Utilisation</b> (for autoscaling, <see cref="IWorkloadUtilization"/>): the CPU time (<c>utime + stime</c> of
/// <c>/proc/&lt;pid&gt;/stat</c>) of every live process of the instance's process group, as cores averaged since the
/// previous measurement (the first measurement of an instance only primes it), and their resident set (<c>rss</c>).</para>
/// <para><b>Resource limits.</b> None are applied: <see cref="ComponentResources"/> is accounted by the orchestrator's
/// resource ledger only (an address-space rlimit would break runtimes such as .NET's that reserve large virtual
/// ranges, and cgroups need privileges). Use the Docker runtime where limits must be enforced.</para>
/// <para><b>Lifetime.</b> Processes are workloads that outlive the orchestrator unless destroyed: disposing the runtime
/// stops no instance whose start completed, while a start still under way when disposal begins is waited for and its
/// instance stopped (it would otherwise run with nobody told of it). <see cref="RemoveDeploymentAsync"/> likewise waits
/// for the deployment's starts under way, so it removes their instances too. Their output is read through pipes while the orchestrator's process lives; a workload that keeps
/// writing after the orchestrator's process has exited gets EPIPE (or SIGPIPE, unless it ignores it), and an adopted
/// instance's output is not captured.</para>
/// </remarks>
public sealed partial class ProcessWorkloadRuntime : IWorkloadRuntime, IWorkloadEvents, IWorkloadInstanceRemover, IWorkloadUtilization, IAsyncDisposable
{
    private static readonly TimeSpan OutputDrainTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ExitPollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ReapTimeout = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, ProcessInstance> _instances = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProcessRecord> _intents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, InFlightStart> _starts = new(StringComparer.Ordinal);
    private readonly HashSet<int> _portsInUse = [];
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _revisionLocks = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _stateLock = new(1, 1);
    private readonly CancellationTokenSource _disposed = new();
    private readonly ProcessRuntimeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ProcessStateFile _stateFile;
    private FileStream? _lockFile;
    private bool _initialized;
    private bool _disposing;
    private long _sequence;

    /// <summary>Creates a runtime. With dependency injection, use <c>AddProcessRuntime()</c> instead.</summary>
    /// <param name="options">The options; defaults when <see langword="null"/>. Without a <see cref="ProcessRuntimeOptions.StateDirectory"/>, <c>{temp}/bpi-orchestration/process-runtime</c> is used.</param>
    /// <param name="timeProvider">The clock for grace periods and readiness checks; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Where log messages go; none when <see langword="null"/>.</param>
    /// <exception cref="OptionsValidationException">The options are invalid (every problem is listed).</exception>
    public ProcessWorkloadRuntime(IOptions<ProcessRuntimeOptions>? options = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        _options = ValidatedOptions.Ensure(options?.Value ?? new ProcessRuntimeOptions(), new ProcessRuntimeOptionsValidator());

        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger("Bpi.Orchestration.Processes") ?? NullLogger.Instance;
        StateDirectory = Path.GetFullPath(_options.StateDirectory ?? DefaultStateDirectory("process-runtime"));
        _stateFile = new ProcessStateFile(StateDirectory);
    }

    /// <inheritdoc />
    public string Name => "process";

    /// <summary>The directory holding the state file, the lock file and the instances' working directories.</summary>
    public string StateDirectory { get; }

    /// <summary>The default state directory for an orchestrator id: <c>{Path.GetTempPath()}/bpi-orchestration/{vmId}</c>.</summary>
    /// <param name="vmId">The orchestrator's id.</param>
    /// <returns>The path.</returns>
    public static string DefaultStateDirectory(string vmId) => Path.Combine(Path.GetTempPath(), "bpi-orchestration", vmId);

    /// <inheritdoc />
    public async ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revision);
        ArgumentOutOfRangeException.ThrowIfNegative(replicas);
        if (revision.Component.Command is null)
        {
            throw OrchestrationException.InvalidConfiguration(
                $"Component '{revision.Component.Id}' for the process runtime",
                ["command: the process runtime runs commands; set the component's Command (a program, a .dll or a .csproj), or use a container runtime for images."]);
        }

        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var key = string.Create(CultureInfo.InvariantCulture, $"{revision.DeploymentId}\n{revision.Component.Id}\n{revision.Revision}");
        var revisionLock = _revisionLocks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await revisionLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<ProcessInstance> surplus = [];
            int missing;
            lock (_gate)
            {
                var existing = _instances.Values
                    .Where(i => !i.IsStopRequested && i.Matches(revision.DeploymentId, revision.Component.Id, revision.Revision))
                    .ToList();
                missing = replicas - existing.Count;

                // Surplus: ended ones first, then starting ones, then the newest.
                surplus = [.. existing
                    .OrderBy(i => i.State is InstanceState.Exited or InstanceState.Failed ? 0 : i.State == InstanceState.Running ? 2 : 1)
                    .ThenByDescending(i => i.Record.Sequence)
                    .Take(Math.Max(0, -missing))];
            }

            await StopAllAsync(surplus).ConfigureAwait(false);
            for (var n = 0; n < missing; n++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await StartInstanceAsync(revision, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            revisionLock.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        return [.. Select(i => i.Matches(deploymentId, componentId, revision)).Select(i => i.Snapshot())];
    }

    /// <inheritdoc />
    public async ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);

        // A start of this deployment already under way would otherwise add its instance after the selection below and
        // leave its process running: let it finish (it cannot be called back once its process runs), then remove it too.
        await WhenStartsEndAsync(deploymentId).ConfigureAwait(false);
        await StopAllAsync(Select(i => string.Equals(i.DeploymentId, deploymentId, StringComparison.Ordinal))).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask RemoveInstanceAsync(string deploymentId, string instanceId, CancellationToken cancellationToken = default)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        await StopAllAsync(Select(i => string.Equals(i.InstanceId, instanceId, StringComparison.Ordinal) && string.Equals(i.DeploymentId, deploymentId, StringComparison.Ordinal))).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        return [.. Select(_ => true).Select(i => i.Snapshot())];
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            return _instances.TryGetValue(instanceId, out var instance) ? instance.Logs.Tail(lines) : [];
        }
    }

    /// <summary>
    /// Streams an instance's output: the kept lines (<see cref="ProcessRuntimeOptions.LogLines"/>), then every new line
    /// as it is written, until the process's output ends or <paramref name="cancellationToken"/> fires. A slow reader
    /// loses the oldest unread lines rather than holding the process back.
    /// </summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="cancellationToken">Stops following.</param>
    /// <returns>The lines, stdout and stderr interleaved.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/>: the runtime has no such instance.</exception>
    public async IAsyncEnumerable<string> ReadLogsAsync(string instanceId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        ProcessLogBuffer? logs;
        lock (_gate)
        {
            logs = _instances.GetValueOrDefault(instanceId)?.Logs;
        }

        if (logs is null)
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"The process runtime has no instance '{instanceId}'; list them with GetInstancesAsync or ListOwnedAsync.");
        }

        await foreach (var line in logs.FollowAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return line;
        }
    }

    /// <summary>
    /// Releases the state directory's lock and stops watching ports. Stops no instance whose start had completed:
    /// instances are workloads that outlive the orchestrator unless removed (<see cref="RemoveDeploymentAsync"/>); a new
    /// runtime on the same state directory adopts them. A start still under way is not left behind: disposal waits for it,
    /// and when its process started after disposal began, that instance is stopped and removed and its
    /// <see cref="EnsureReplicasAsync"/> fails with <see cref="ObjectDisposedException"/> (nobody is left to report it to).
    /// </summary>
    /// <returns>A task that completes when the runtime is disposed and no start of it is under way.</returns>
    public async ValueTask DisposeAsync()
    {
        List<Task> starts;
        lock (_gate)
        {
            if (_disposing)
            {
                return;
            }

            // Under the gate: a start registers itself under it too, so it either is in this list or sees _disposing.
            _disposing = true;
            starts = [.. _starts.Values.Select(s => s.Ended.Task)];
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(starts).ConfigureAwait(false);
        await _stateLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_lockFile is not null)
            {
                await _lockFile.DisposeAsync().ConfigureAwait(false);
                _lockFile = null;
            }
        }
        finally
        {
            _stateLock.Release();
        }
    }

    /// <summary>Completes when every start of <paramref name="deploymentId"/> under way now has ended (whether it succeeded or not).</summary>
    private Task WhenStartsEndAsync(string deploymentId)
    {
        lock (_gate)
        {
            return Task.WhenAll(_starts.Values.Where(s => string.Equals(s.DeploymentId, deploymentId, StringComparison.Ordinal)).Select(s => s.Ended.Task));
        }
    }

    private List<ProcessInstance> Select(Func<ProcessInstance, bool> predicate)
    {
        lock (_gate)
        {
            var selected = _instances.Values.Where(predicate).ToList();
            foreach (var instance in selected)
            {
                instance.Refresh();
            }

            return selected;
        }
    }

    private async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if (Volatile.Read(ref _initialized))
        {
            return;
        }

        await _stateLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
            {
                return;
            }

            try
            {
                Directory.CreateDirectory(StateDirectory);
                _lockFile ??= new FileStream(Path.Combine(StateDirectory, "runtime.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException ex)
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.InvalidConfiguration,
                    $"The process runtime's state directory '{StateDirectory}' is locked by another runtime (or cannot be created). Give each orchestrator its own ProcessRuntimeOptions.StateDirectory (or VmId), or stop the other one.",
                    ex);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The process runtime cannot write its state directory '{StateDirectory}'; choose a writable ProcessRuntimeOptions.StateDirectory.", ex);
            }

            var (records, damaged) = await _stateFile.ReadAsync(ex => Log.StateFileCorrupt(_logger, ex, _stateFile.Path), cancellationToken).ConfigureAwait(false);
            if (Reconcile(records, ProcessMarkers.Scan(StateDirectory)) || damaged)
            {
                // Write the reconciled table now: the next runtime must not depend on this one living long enough to persist.
                List<ProcessRecord> reconciled;
                lock (_gate)
                {
                    reconciled = [.. _instances.Values.Select(i => i.Record)];
                }

                await _stateFile.WriteAsync(reconciled, cancellationToken).ConfigureAwait(false);
            }

            RemoveUnusedWorkingDirectories();
            Volatile.Write(ref _initialized, true);
        }
        finally
        {
            _stateLock.Release();
        }
    }

    /// <summary>
    /// Starts one instance, registered as a start under way until it ends, so that <see cref="DisposeAsync"/> and
    /// <see cref="RemoveDeploymentAsync"/> can wait for it; refused once disposal began.
    /// </summary>
    private async Task StartInstanceAsync(WorkloadRevision revision, CancellationToken cancellationToken)
    {
        var instanceId = string.Create(CultureInfo.InvariantCulture, $"{revision.DeploymentId}-{revision.Component.Id}-r{revision.Revision}-{Guid.NewGuid().ToString("N")[..8]}");
        var start = new InFlightStart(revision.DeploymentId);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposing, this);
            _starts[instanceId] = start;
        }

        try
        {
            await StartTrackedInstanceAsync(revision, instanceId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _starts.Remove(instanceId);
            }

            start.Ended.TrySetResult();
        }
    }

    private async Task StartTrackedInstanceAsync(WorkloadRevision revision, string instanceId, CancellationToken cancellationToken)
    {
        var component = revision.Component;
        var (fileName, arguments) = ProcessLaunch.ResolveCommand(component.Command!, _options);
        var executable = ProcessLaunch.ResolveExecutable(fileName)
            ?? throw new OrchestrationException(
                OrchestrationErrorKind.ContainerStartupFailed,
                $"Cannot start component '{component.Id}' revision {revision.Revision.ToString(CultureInfo.InvariantCulture)}: the program '{fileName}' was not found{(Path.IsPathRooted(fileName) ? "" : " on PATH")}. Check Command.FileName (or ProcessRuntimeOptions.DotnetHostPath for .dll and .csproj commands).");

        var labels = revision.GetOwnershipLabels();
        labels[WorkloadLabels.Instance] = instanceId;
        List<ProcessPort> ports;
        long sequence;
        lock (_gate)
        {
            ports = [.. component.Ports.Select(p => new ProcessPort(p.Name, ProcessLaunch.AllocatePort(p.Protocol, _portsInUse), p.Protocol))];
            sequence = ++_sequence;
        }

        var ownsDirectory = component.Command!.WorkingDirectory is null;
        var workingDirectory = component.Command.WorkingDirectory ?? Path.Combine(StateDirectory, "instances", instanceId);
        var info = ProcessLaunch.Build(revision, instanceId, executable, arguments, workingDirectory, ports, _options, out var processGroup);

        // The intent first, durably: a runtime killed between here and the pid being recorded leaves a table entry (and
        // the process its marker) that the next runtime resolves, instead of a process nothing tracks.
        var intent = new ProcessRecord
        {
            InstanceId = instanceId,
            Sequence = sequence,
            Pid = 0,
            StartTicks = 0,
            ProcessGroup = processGroup,
            Labels = labels,
            Ports = ports,
            WorkingDirectory = workingDirectory,
            OwnsWorkingDirectory = ownsDirectory,
            StartedAt = _time.GetUtcNow(),
        };
        ProcessMarkers.Apply(info, StateDirectory, intent);
        lock (_gate)
        {
            _intents[instanceId] = intent;
        }

        try
        {
            await PersistAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await ForgetIntentAsync(instanceId, ports).ConfigureAwait(false);
            throw new OrchestrationException(
                OrchestrationErrorKind.ContainerStartupFailed,
                $"Could not record instance '{instanceId}' in '{_stateFile.Path}' before starting it: {ex.Message}. Nothing was started; check that the state directory is writable and has space.",
                ex);
        }

        if (_disposed.IsCancellationRequested)
        {
            // Disposal began while the intent was written: start nothing.
            await ForgetIntentAsync(instanceId, ports).ConfigureAwait(false);
            throw DisposedDuringStart(instanceId);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        try
        {
            Directory.CreateDirectory(workingDirectory);
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            process.Dispose();
            await ForgetIntentAsync(instanceId, ports).ConfigureAwait(false);
            throw new OrchestrationException(
                OrchestrationErrorKind.ContainerStartupFailed,
                $"Could not start '{fileName}' for component '{component.Id}' revision {revision.Revision.ToString(CultureInfo.InvariantCulture)} in '{workingDirectory}': {ex.Message}. Check that the program is executable and the working directory is writable.",
                ex);
        }

        var identity = OsProcesses.TryRead(process.Id);
        var record = intent with { Pid = process.Id, StartTicks = identity?.StartTicks ?? 0 };
        var logs = new ProcessLogBuffer(_options.LogLines, _options.MaxLineLength, component.Secrets.Values);
        logs.ExpectStreams(2);
        var pumps = Task.WhenAll(logs.PumpAsync(process.StandardOutput.BaseStream), logs.PumpAsync(process.StandardError.BaseStream));
        try
        {
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The process already ended; its exit is observed below.
        }

        if (ProcessStartedHook is { } hook)
        {
            await hook(instanceId).ConfigureAwait(false);
        }

        var waitForPort = _options.WaitForPorts && ports.Any(p => p.Protocol == PortProtocol.Tcp);
        var instance = new ProcessInstance(record, process, logs, waitForPort ? InstanceState.Starting : InstanceState.Running);
        bool disposing;
        lock (_gate)
        {
            _instances[instanceId] = instance;
            _intents.Remove(instanceId);
            disposing = _disposing;
        }

        Log.ProcessStarted(_logger, instanceId, revision.DeploymentId, component.Id, revision.Revision, process.Id, fileName);
        // Not cancellable: the process runs now, so it must be in the state file even when the caller gives up (an
        // orchestrator stopping mid-step), or a later runtime on this directory could neither adopt nor stop it.
        await PersistAsync(CancellationToken.None).ConfigureAwait(false);
        _ = WatchExitAsync(instance, process, pumps);
        if (disposing)
        {
            // The process started after disposal began: no caller will hear of it and no later call of this runtime can
            // remove it, so it is stopped now (DisposeAsync waits for this) instead of outliving the orchestrator unseen.
            Log.StartedDuringDisposal(_logger, instanceId, process.Id);
            await StopAllAsync([instance]).ConfigureAwait(false);
            throw DisposedDuringStart(instanceId);
        }

        if (waitForPort)
        {
            _ = WatchPortAsync(instance, ports.First(p => p.Protocol == PortProtocol.Tcp).Port);
        }
    }

    private ObjectDisposedException DisposedDuringStart(string instanceId)
        => new(GetType().FullName, $"The process runtime was disposed while instance '{instanceId}' was starting; nothing of it is left running. Create a new runtime on the state directory to start instances.");

    /// <summary>Test seam: awaited after an instance's process started and before the instance is registered.</summary>
    internal Func<string, Task>? ProcessStartedHook { get; set; }

    /// <summary>Drops an intent whose process was not started (best effort: a left intent is dropped by the next runtime).</summary>
    private async Task ForgetIntentAsync(string instanceId, List<ProcessPort> ports)
    {
        lock (_gate)
        {
            _intents.Remove(instanceId);
        }

        ReleasePorts(ports);
        try
        {
            await PersistAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.StateFileNotWritten(_logger, ex, _stateFile.Path);
        }
    }

    private void ReleasePorts(IEnumerable<ProcessPort> ports)
    {
        lock (_gate)
        {
            foreach (var port in ports)
            {
                _portsInUse.Remove(port.Port);
            }
        }
    }

    private async Task PersistAsync(CancellationToken cancellationToken)
    {
        await _stateLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<ProcessRecord> records;
            lock (_gate)
            {
                records = [.. _instances.Values.Select(i => i.Record), .. _intents.Values];
            }

            await _stateFile.WriteAsync(records, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _stateLock.Release();
        }
    }

    /// <summary>A start under way: the deployment it belongs to, and its end (completed whether it succeeded or not).</summary>
    private sealed class InFlightStart(string deploymentId)
    {
        public string DeploymentId { get; } = deploymentId;

        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
