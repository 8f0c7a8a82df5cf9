using System.Diagnostics;
using System.Globalization;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Processes;

/// <summary>One instance of the local-process runtime: its record, its process (when this runtime started it), its output and its state.</summary>
internal sealed class ProcessInstance
{
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private InstanceState _state;
    private int? _exitCode;
    private string? _message;
    private Task? _stop;

    public ProcessInstance(ProcessRecord record, Process? process, ProcessLogBuffer logs, InstanceState state, string? message = null)
    {
        Record = record;
        Process = process;
        Logs = logs;
        _state = state;
        _message = message;
        if (state is InstanceState.Exited or InstanceState.Failed)
        {
            _exited.TrySetResult();
            _ended.TrySetResult();
        }
    }

    public ProcessRecord Record { get; }

    public string InstanceId => Record.InstanceId;

    /// <summary>The process, when this runtime instance started it; <see langword="null"/> for an instance adopted after a restart.</summary>
    public Process? Process { get; }

    public ProcessLogBuffer Logs { get; }

    /// <summary>Completes when the process has ended and its state (exit code, last output) is recorded.</summary>
    public Task Ended => _ended.Task;

    /// <summary>Completes as soon as this runtime's child process has exited (before its output is drained).</summary>
    public Task Exited => _exited.Task;

    public InstanceState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Whether the instance is being (or has been) stopped by the runtime; it no longer counts as a replica.</summary>
    public bool IsStopRequested
    {
        get
        {
            lock (_gate)
            {
                return _stop is not null;
            }
        }
    }

    public string DeploymentId => Record.Labels[WorkloadLabels.Deployment];

    public string ComponentId => Record.Labels[WorkloadLabels.Component];

    public int Revision => int.Parse(Record.Labels[WorkloadLabels.Revision], CultureInfo.InvariantCulture);

    public bool Matches(string deploymentId, string? componentId, int? revision)
        => string.Equals(DeploymentId, deploymentId, StringComparison.Ordinal)
           && (componentId is null || string.Equals(ComponentId, componentId, StringComparison.Ordinal))
           && (revision is null || Revision == revision);

    /// <summary>Whether the process (still) runs: our child has not exited, or an adopted pid still has its recorded start time.</summary>
    public bool IsProcessAlive()
    {
        if (Process is not null)
        {
            return !_exited.Task.IsCompleted;
        }

        return OsProcesses.IsSameProcess(Record.Pid, Record.StartTicks);
    }

    /// <summary>Starts the stop once; later callers share it.</summary>
    public Task GetOrStartStop(Func<Task> stop)
    {
        lock (_gate)
        {
            if (_stop is null)
            {
                if (_state is not (InstanceState.Exited or InstanceState.Failed))
                {
                    _state = InstanceState.Stopping;
                }

                _stop = stop();
            }

            return _stop;
        }
    }

    /// <summary>Starting → Running once the port accepts connections.</summary>
    public bool MarkRunning()
    {
        lock (_gate)
        {
            if (_state != InstanceState.Starting)
            {
                return false;
            }

            _state = InstanceState.Running;
            return true;
        }
    }

    /// <summary>Records that the child process has exited.</summary>
    public void MarkProcessExited() => _exited.TrySetResult();

    /// <summary>Records the end of the process.</summary>
    public void MarkEnded(InstanceState state, int? exitCode, string message)
    {
        _exited.TrySetResult();
        lock (_gate)
        {
            _state = state;
            _exitCode = exitCode;
            _message = message;
        }

        _ended.TrySetResult();
    }

    /// <summary>For an adopted instance: notices that its process has gone.</summary>
    public void Refresh()
    {
        if (Process is null && !_ended.Task.IsCompleted && State is InstanceState.Running or InstanceState.Starting && !IsProcessAlive())
        {
            MarkEnded(InstanceState.Exited, null, "the process ended; its exit code is unknown because it was started before the orchestrator restarted");
        }
    }

    public WorkloadInstance Snapshot()
    {
        lock (_gate)
        {
            Record.Labels.TryGetValue(WorkloadLabels.Owner, out var owner);
            return new WorkloadInstance
            {
                InstanceId = Record.InstanceId,
                DeploymentId = DeploymentId,
                ComponentId = ComponentId,
                Revision = Revision,
                OwnerId = owner,
                State = _state,
                Health = InstanceHealth.Unknown,
                Endpoints = [.. Record.Ports.Where(p => p.Protocol == PortProtocol.Tcp).Select(p => new ServiceEndpoint("127.0.0.1", p.Port, p.Name))],
                StartedAt = Record.StartedAt,
                ExitCode = _exitCode,
                Message = _message,
            };
        }
    }
}
