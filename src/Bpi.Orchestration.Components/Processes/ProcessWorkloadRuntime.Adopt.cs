using Bpi.Orchestration.Components;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Processes;

// Opening a state directory: the table's records against the processes that carry this directory's marker.
public sealed partial class ProcessWorkloadRuntime
{
    /// <summary>
    /// Builds the instance list from the table and the marked live processes: a recorded process that still runs is
    /// adopted; an intent (recorded, then the runtime died before or while starting it) is adopted when its process
    /// runs and dropped when none does; a marked process the table does not know (the table was missing, damaged or
    /// edited) is adopted with a warning, so it is counted, reported and removable, never left running untracked.
    /// </summary>
    /// <returns>Whether the table must be rewritten.</returns>
    private bool Reconcile(List<ProcessRecord> records, Dictionary<string, MarkedInstance> marked)
    {
        var changed = false;
        lock (_gate)
        {
            _sequence = Math.Max(records.Select(r => r.Sequence).DefaultIfEmpty(0).Max(), marked.Values.Select(m => m.Record.Sequence).DefaultIfEmpty(0).Max());
            foreach (var record in records)
            {
                marked.Remove(record.InstanceId, out var live);
                if (record.Pid == 0)
                {
                    changed = true;
                    if (live is null)
                    {
                        Log.IntentDropped(_logger, record.InstanceId);
                        DeleteWorkingDirectory(record);
                        continue;
                    }

                    Log.IntentAdopted(_logger, record.InstanceId, live.Main.Pid);
                    Add(record with { Pid = live.Main.Pid, StartTicks = live.Main.StartTicks }, InstanceState.Running, "adopted from a previous runtime that stopped while starting it; its output is not available");
                }
                else if (OsProcesses.IsSameProcess(record.Pid, record.StartTicks))
                {
                    Log.ProcessAdopted(_logger, record.InstanceId, record.Pid, record.Labels.GetValueOrDefault(WorkloadLabels.Deployment, "?"));
                    Add(record, InstanceState.Running, "adopted from a previous runtime; its output before the restart is not available");
                }
                else if (live is not null)
                {
                    // The recorded process is gone but what it spawned runs on, with the instance's marker.
                    changed = true;
                    Log.ProcessAdopted(_logger, record.InstanceId, live.Main.Pid, record.Labels.GetValueOrDefault(WorkloadLabels.Deployment, "?"));
                    Add(record with { Pid = live.Main.Pid, StartTicks = live.Main.StartTicks }, InstanceState.Running, "adopted from a previous runtime; its output before the restart is not available");
                }
                else
                {
                    Log.ProcessGone(_logger, record.InstanceId, record.Pid);
                    Add(record, InstanceState.Exited, "the process ended while no runtime watched it (or its pid now belongs to another process); its exit code is unknown");
                }
            }

            foreach (var (instanceId, live) in marked)
            {
                changed = true;
                var record = live.Record with { Pid = live.Main.Pid, StartTicks = live.Main.StartTicks, Sequence = ++_sequence };
                Log.StrayAdopted(_logger, instanceId, live.Main.Pid, record.Labels.GetValueOrDefault(WorkloadLabels.Deployment, "?"), _stateFile.Path);
                Add(record, InstanceState.Running, "found running with this runtime's marker but missing from its table; adopted");
            }
        }

        return changed;
    }

    private void Add(ProcessRecord record, InstanceState state, string message)
    {
        var logs = new ProcessLogBuffer(_options.LogLines, _options.MaxLineLength, []);
        logs.CompleteWithoutStreams();
        _instances[record.InstanceId] = new ProcessInstance(record, null, logs, state, message);
        foreach (var port in record.Ports)
        {
            _portsInUse.Add(port.Port);
        }
    }

    /// <summary>Deletes the working directories under <c>instances/</c> that no instance uses (left by a runtime that died while starting or stopping one).</summary>
    private void RemoveUnusedWorkingDirectories()
    {
        var root = Path.Combine(StateDirectory, "instances");
        if (!Directory.Exists(root))
        {
            return;
        }

        HashSet<string> used;
        lock (_gate)
        {
            used = [.. _instances.Values.Select(i => Path.GetFullPath(i.Record.WorkingDirectory))];
        }

        foreach (var directory in Directory.EnumerateDirectories(root))
        {
            if (!used.Contains(Path.GetFullPath(directory)))
            {
                TryDeleteDirectory(directory, Path.GetFileName(directory));
            }
        }
    }

    private void DeleteWorkingDirectory(ProcessRecord record)
    {
        // Only a directory the runtime created, under its own instances/ folder: a record is never trusted to name another.
        var root = Path.Combine(StateDirectory, "instances") + Path.DirectorySeparatorChar;
        if (record.OwnsWorkingDirectory && Path.GetFullPath(record.WorkingDirectory).StartsWith(root, StringComparison.Ordinal) && Directory.Exists(record.WorkingDirectory))
        {
            TryDeleteDirectory(record.WorkingDirectory, record.InstanceId);
        }
    }

    private void TryDeleteDirectory(string directory, string instanceId)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.WorkingDirectoryNotDeleted(_logger, ex, directory, instanceId);
        }
    }
}
