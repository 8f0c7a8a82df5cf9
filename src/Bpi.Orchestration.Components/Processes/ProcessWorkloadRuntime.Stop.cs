using System.Diagnostics;
using Bpi.Orchestration.Components;

namespace Bpi.Orchestration.Processes;

// Stopping instances: SIGTERM, the grace period, the process tree, and whatever the instance left behind.
public sealed partial class ProcessWorkloadRuntime
{
    private Task StopAllAsync(IEnumerable<ProcessInstance> instances)
        => Task.WhenAll(instances.Select(i => i.GetOrStartStop(() => StopAsync(i))));

    private async Task StopAsync(ProcessInstance instance)
    {
        await Task.Yield();
        var record = instance.Record;
        var descendants = new List<OsProcessInfo>();
        if (instance.IsProcessAlive())
        {
            var snapshot = OsProcesses.ReadAll();
            descendants = OsProcesses.Descendants(record.Pid, snapshot);
            var graceful = false;
            if (_options.GracePeriod > TimeSpan.Zero && SendTerm(instance))
            {
                Log.ProcessStopping(_logger, instance.InstanceId, record.Pid, _options.GracePeriod);
                graceful = await WaitForExitAsync(instance, _options.GracePeriod).ConfigureAwait(false);
            }

            if (!graceful)
            {
                Log.ProcessKilled(_logger, instance.InstanceId, record.Pid, _options.GracePeriod);
                KillTree(instance);
            }
        }

        // Whatever the instance left behind: its process group (setsid), and the descendants seen before SIGTERM.
        var now = OsProcesses.ReadAll();
        var leftovers = record.ProcessGroup ? OsProcesses.GroupMembers(record.Pid, record.StartTicks, now) : [];
        leftovers.AddRange(descendants);
        if (instance.IsProcessAlive())
        {
            leftovers.AddRange(OsProcesses.Descendants(record.Pid, now));
        }

        var killed = OsProcesses.KillAll(leftovers.DistinctBy(p => p.Pid));
        if (killed.Count > 0)
        {
            Log.LeftoversKilled(_logger, killed.Count, instance.InstanceId);
            await OsProcesses.WaitUntilGoneAsync(killed, _time, ReapTimeout).ConfigureAwait(false);
        }

        // Reap our child so no zombie stays behind, then forget the instance.
        await WaitForExitAsync(instance, ReapTimeout).ConfigureAwait(false);
        lock (_gate)
        {
            _instances.Remove(instance.InstanceId);
            ReleasePorts(record.Ports);
        }

        await PersistAsync(CancellationToken.None).ConfigureAwait(false);
        instance.Process?.Dispose();
        if (record.OwnsWorkingDirectory)
        {
            try
            {
                Directory.Delete(record.WorkingDirectory, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.WorkingDirectoryNotDeleted(_logger, ex, record.WorkingDirectory, instance.InstanceId);
            }
        }
    }

    private static bool SendTerm(ProcessInstance instance)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        return OsProcesses.Signal(instance.Record.Pid, instance.Record.StartTicks, OsProcesses.SigTerm);
    }

    private void KillTree(ProcessInstance instance)
    {
        var record = instance.Record;
        try
        {
            if (instance.Process is { } process)
            {
                if (!instance.Exited.IsCompleted)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            else if (OsProcesses.IsSameProcess(record.Pid, record.StartTicks))
            {
                using var adopted = Process.GetProcessById(record.Pid);
                adopted.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or ArgumentException or NotSupportedException)
        {
            Log.KillFailed(_logger, ex, instance.InstanceId, record.Pid);
        }
    }

    /// <summary>Waits until the instance's process has ended (our child: its exit was observed; adopted: its pid is gone), up to <paramref name="timeout"/>.</summary>
    private async Task<bool> WaitForExitAsync(ProcessInstance instance, TimeSpan timeout)
    {
        var started = _time.GetTimestamp();
        while (instance.IsProcessAlive())
        {
            var remaining = timeout - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return false;
            }

            var poll = instance.Process is null ? (remaining < ExitPollInterval ? remaining : ExitPollInterval) : remaining;
            await Task.WhenAny(instance.Exited, Task.Delay(poll, _time)).ConfigureAwait(false);
        }

        return true;
    }
}
