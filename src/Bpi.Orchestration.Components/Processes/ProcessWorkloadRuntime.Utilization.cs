using System.Globalization;
using System.Runtime.InteropServices;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Processes;

/// <summary>Utilisation from <c>/proc</c>: CPU time deltas and resident memory of each instance's process group.</summary>
public sealed partial class ProcessWorkloadRuntime
{
    private const int ClockTicksName = 2; // _SC_CLK_TCK on Linux
    private static readonly Lazy<double> TicksPerSecond = new(ReadTicksPerSecond);
    private readonly Dictionary<string, (long CpuTicks, long Timestamp)> _cpuSamples = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<InstanceUtilization>> GetUtilizationAsync(string deploymentId, string componentId, int revision, CancellationToken cancellationToken = default)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var instances = Select(i => i.Matches(deploymentId, componentId, revision) && i.State == InstanceState.Running && !i.IsStopRequested);
        if (instances.Count == 0 || !OperatingSystem.IsLinux())
        {
            return [];
        }

        var snapshot = OsProcesses.ReadAll();
        var now = _time.GetTimestamp();
        var result = new List<InstanceUtilization>(instances.Count);
        lock (_cpuSamples)
        {
            foreach (var instance in instances)
            {
                if (ReadGroupUsage(instance.Record.Pid, instance.Record.StartTicks, snapshot) is not { } usage)
                {
                    continue;
                }

                double? cores = null;
                if (_cpuSamples.TryGetValue(instance.InstanceId, out var previous))
                {
                    var seconds = _time.GetElapsedTime(previous.Timestamp, now).TotalSeconds;
                    if (seconds > 0)
                    {
                        cores = Math.Max(0, usage.CpuTicks - previous.CpuTicks) / TicksPerSecond.Value / seconds;
                    }
                }

                _cpuSamples[instance.InstanceId] = (usage.CpuTicks, now);
                result.Add(new InstanceUtilization(instance.InstanceId, cores, usage.RssBytes));
            }

            // Forget the samples of instances that are gone, so the table does not grow with every instance ever measured.
            var live = Select(i => i.State is not (InstanceState.Exited or InstanceState.Failed)).Select(i => i.InstanceId).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in _cpuSamples.Keys.Where(k => !live.Contains(k)).ToList())
            {
                _cpuSamples.Remove(gone);
            }
        }

        return result;
    }

    /// <summary>CPU ticks and resident bytes summed over the live members of an instance's process group; <see langword="null"/> when none can be read.</summary>
    private static (long CpuTicks, long RssBytes)? ReadGroupUsage(int leaderPid, long leaderStartTicks, List<OsProcessInfo> snapshot)
    {
        long ticks = 0;
        long rss = 0;
        var found = false;
        foreach (var member in OsProcesses.GroupMembers(leaderPid, leaderStartTicks, snapshot))
        {
            if (ReadUsage(member.Pid, member.StartTicks) is { } usage)
            {
                ticks += usage.CpuTicks;
                rss += usage.RssBytes;
                found = true;
            }
        }

        return found ? (ticks, rss) : null;
    }

    /// <summary>Reads <c>utime + stime</c> (fields 14 and 15) and <c>rss</c> (field 24, in pages) of one process, if it is still the one that started at <paramref name="startTicks"/>.</summary>
    internal static (long CpuTicks, long RssBytes)? ReadUsage(int pid, long startTicks)
    {
        string stat;
        try
        {
            stat = File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // gone
        }

        return ParseUsage(stat, startTicks);
    }

    /// <summary>Parses the usage fields of <c>/proc/&lt;pid&gt;/stat</c> text (fields counted after the last ')', as the command may hold spaces).</summary>
    internal static (long CpuTicks, long RssBytes)? ParseUsage(string stat, long startTicks)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 >= stat.Length)
        {
            return null;
        }

        // Index 0 is field 3 (state): utime(14) → 11, stime(15) → 12, starttime(22) → 19, rss(24) → 21.
        var fields = stat[(close + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 22
            || !long.TryParse(fields[11], NumberStyles.Integer, CultureInfo.InvariantCulture, out var utime)
            || !long.TryParse(fields[12], NumberStyles.Integer, CultureInfo.InvariantCulture, out var stime)
            || !long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out var start)
            || !long.TryParse(fields[21], NumberStyles.Integer, CultureInfo.InvariantCulture, out var rssPages)
            || start != startTicks)
        {
            return null;
        }

        return (utime + stime, rssPages * Environment.SystemPageSize);
    }

    private static double ReadTicksPerSecond()
    {
        try
        {
            var ticks = SysConf(ClockTicksName);
            return ticks > 0 ? ticks : 100;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return 100; // USER_HZ on every mainstream Linux build
        }
    }

    [DllImport("libc", EntryPoint = "sysconf")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern long SysConf(int name);
}
