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
        foreach (var process in OsProcesses.ReadAll())
        {
            if (process.Pid == self || ReadMarker(process.Pid, stateDirectory) is not { } record)
            {
                continue;
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

        return found;
    }

    private static ProcessRecord? ReadMarker(int pid, string stateDirectory)
    {
        string environment;
        try
        {
            environment = File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/environ");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // Gone, or another user's.
        }

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
