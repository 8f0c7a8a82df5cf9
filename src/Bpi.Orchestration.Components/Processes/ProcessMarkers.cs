using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Bpi.Orchestration.Processes;

/// <summary>The live processes of one instance found by its marker, and the record the marker carries.</summary>
/// <param name="Record">The instance's record as it was before its process started (its <see cref="ProcessRecord.Pid"/> is 0).</param>
/// <param name="Processes">Every live process carrying the marker: the instance's process and whatever it spawned.</param>
internal sealed record MarkedInstance(ProcessRecord Record, List<OsProcessInfo> Processes)
{
    /// <summary>The instance's own process: the first of them to start.</summary>
    public OsProcessInfo Main => Processes.OrderBy(p => p.StartTicks).ThenBy(p => p.Pid).First();
}

/// <summary>
/// The owner marker every process the runtime starts carries in its environment (and hands down to its children): the
/// runtime's state directory and the instance's record. It outlives the runtime (a kill -9 included), so a runtime
/// opening the directory finds, through <c>/proc/&lt;pid&gt;/environ</c>, every process of its directory, whether
/// the table (<c>instances.json</c>) knows it or not; the table can be rebuilt from it.
/// </summary>
internal static class ProcessMarkers
{
    /// <summary>The runtime's state directory (full path): whose process this is.</summary>
    public const string StateDirectoryVariable = "BPI_ORCHESTRATION_STATE_DIRECTORY";

    /// <summary>The instance's record (JSON, without pid): what a runtime needs to adopt the process without its table.</summary>
    public const string RecordVariable = "BPI_ORCHESTRATION_RECORD";

    public static void Apply(ProcessStartInfo info, string stateDirectory, ProcessRecord intent)
    {
        info.Environment[StateDirectoryVariable] = stateDirectory;
        info.Environment[RecordVariable] = JsonSerializer.Serialize(intent, ProcessStateJsonContext.Default.ProcessRecord);
    }

    /// <summary>Every live process carrying the marker of <paramref name="stateDirectory"/>, by instance id (Linux; empty elsewhere).</summary>
    public static Dictionary<string, MarkedInstance> Scan(string stateDirectory)
    {
        var found = new Dictionary<string, MarkedInstance>(StringComparer.Ordinal);
        var self = Environment.ProcessId;
        var pending = new List<(OsProcessInfo Process, int Rounds)>();
        foreach (var process in OsProcesses.ReadAll())
        {
            if (process.Pid == self || process.IsKernelThread)
            {
                continue;
            }

            var environment = ReadEnvironment(process.Pid);
            if (RereadRounds(process.Pid, environment) is var rounds and > 0)
            {
                pending.Add((process, rounds));
            }
            else
            {
                Collect(found, process, environment, stateDirectory);
            }
        }

        // A user process inside execve (a shell's `exec`, say) shows an empty environment for an instant: its new memory
        // exists but its environment is not laid out yet. Reading that instant as "no marker" would leave an instance
        // untracked, running with nobody to stop it. So those are read again, together, for a bounded moment while they
        // live (see RereadRounds).
        for (var round = 1; pending.Count > 0; round++)
        {
            // An exec completes in microseconds to a few milliseconds: yield the core to it, then read again. This is a
            // synchronous scan of /proc when a state directory opens, not a wait on anything the TimeProvider governs.
            Thread.Sleep(round <= 10 ? 0 : 1);
            pending.RemoveAll(entry =>
            {
                if (!OsProcesses.IsSameProcess(entry.Process.Pid, entry.Process.StartTicks))
                {
                    return true;
                }

                var environment = ReadEnvironment(entry.Process.Pid);
                if (environment is { Length: 0 } && round < entry.Rounds)
                {
                    return false;
                }

                Collect(found, entry.Process, environment, stateDirectory);
                return true;
            });
        }

        return found;
    }

    private static void Collect(Dictionary<string, MarkedInstance> found, OsProcessInfo process, string? environment, string stateDirectory)
    {
        if (environment is null || ParseMarker(environment, stateDirectory) is not { } record)
        {
            return;
        }

        if (found.TryGetValue(record.InstanceId, out var instance))
        {
            instance.Processes.Add(process);
        }
        else
        {
            found[record.InstanceId] = new MarkedInstance(record, [process]);
        }
    }

    /// <summary>How many rounds (about a millisecond apart) a process with neither environment nor command line is read again: it is between the two halves of an exec.</summary>
    internal const int InsideExecRereads = 1000;

    /// <summary>How many rounds a process with a command line but an empty environment is read again: the kernel lays the command line out an instant before the environment.</summary>
    internal const int EmptyEnvironmentRereads = 20;

    /// <summary>
    /// How many times to read a live user process's environment again before taking it as it is: 0 when it is not
    /// empty; <see cref="InsideExecRereads"/> when its command line is empty too (the new program's memory exists but
    /// neither is laid out: the process is inside exec); a few rounds when only the environment is empty (either the
    /// instant between the two, or a process that really has no environment, which must not slow every scan).
    /// </summary>
    internal static int RereadRounds(int pid, string? environment)
    {
        if (environment is not { Length: 0 })
        {
            return 0;
        }

        try
        {
            return File.ReadAllBytes("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/cmdline").Length == 0 ? InsideExecRereads : EmptyEnvironmentRereads;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0; // Gone: nothing to wait for.
        }
    }

    /// <summary>The text of <c>/proc/&lt;pid&gt;/environ</c>, or <see langword="null"/> when the process is gone or not ours to read.</summary>
    internal static string? ReadEnvironment(int pid)
    {
        try
        {
            return File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/environ");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // Gone, or another user's.
        }
    }

    /// <summary>The record a process's environment carries for <paramref name="stateDirectory"/>, if any.</summary>
    internal static ProcessRecord? ParseMarker(string environment, string stateDirectory)
    {
        string? directory = null;
        string? json = null;
        foreach (var entry in environment.Split('\0'))
        {
            if (entry.StartsWith(StateDirectoryVariable + "=", StringComparison.Ordinal))
            {
                directory = entry[(StateDirectoryVariable.Length + 1)..];
            }
            else if (entry.StartsWith(RecordVariable + "=", StringComparison.Ordinal))
            {
                json = entry[(RecordVariable.Length + 1)..];
            }
        }

        if (json is null || !string.Equals(directory, stateDirectory, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(json, ProcessStateJsonContext.Default.ProcessRecord);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
