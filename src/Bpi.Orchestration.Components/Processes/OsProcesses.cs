using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Bpi.Orchestration.Processes;

/// <summary>What the runtime knows about one live operating-system process, read from <c>/proc/&lt;pid&gt;/stat</c> on Linux.</summary>
/// <param name="Pid">The process id.</param>
/// <param name="ParentPid">The parent's process id.</param>
/// <param name="ProcessGroup">The process group id.</param>
/// <param name="StartTicks">When the process started: clock ticks since boot on Linux, UTC ticks elsewhere. Together with the pid it identifies a process; a recycled pid has a different start time.</param>
/// <param name="IsZombie">Whether the process has ended and waits to be reaped (it runs nothing any more).</param>
/// <param name="IsKernelThread">Whether it is a kernel thread (<c>PF_KTHREAD</c>): it has no user memory, so no environment or command line.</param>
internal readonly record struct OsProcessInfo(int Pid, int ParentPid, int ProcessGroup, long StartTicks, bool IsZombie, bool IsKernelThread = false);

/// <summary>
/// Reads and signals operating-system processes without ever touching a recycled pid: every signal is preceded by a
/// check that the pid still has the start time recorded when the runtime started it.
/// </summary>
internal static class OsProcesses
{
    internal const int SigTerm = 15;
    internal const int SigKill = 9;

    /// <summary>The <c>PF_KTHREAD</c> bit of the flags field of <c>/proc/&lt;pid&gt;/stat</c>.</summary>
    private const uint KernelThreadFlag = 0x00200000;

    private static readonly bool HasProcFs = OperatingSystem.IsLinux() && Directory.Exists("/proc/self");

    /// <summary>Reads one process; <see langword="null"/> when it does not exist (or cannot be read).</summary>
    public static OsProcessInfo? TryRead(int pid)
    {
        if (pid <= 0)
        {
            return null;
        }

        if (HasProcFs)
        {
            try
            {
                return Parse(pid, File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/stat"));
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return new OsProcessInfo(pid, 0, 0, process.StartTime.ToUniversalTime().Ticks, IsZombie: false);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Parses the text of <c>/proc/&lt;pid&gt;/stat</c>; the command name may hold spaces and parentheses, so fields are counted after the last ')'.</summary>
    internal static OsProcessInfo? Parse(int pid, string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 >= stat.Length)
        {
            return null;
        }

        // Fields after the command: state(3) ppid(4) pgrp(5) session(6) tty(7) tpgid(8) flags(9) ... starttime(22).
        var fields = stat[(close + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 20
            || !int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ppid)
            || !int.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pgrp)
            || !long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out var start))
        {
            return null;
        }

        var kernelThread = uint.TryParse(fields[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var flags) && (flags & KernelThreadFlag) != 0;
        return new OsProcessInfo(pid, ppid, pgrp, start, IsZombie: fields[0] is "Z" or "X", IsKernelThread: kernelThread);
    }

    /// <summary>Whether <paramref name="pid"/> is alive and is still the process that started at <paramref name="startTicks"/>.</summary>
    public static bool IsSameProcess(int pid, long startTicks)
        => startTicks != 0 && TryRead(pid) is { IsZombie: false } info && info.StartTicks == startTicks;

    /// <summary>Every live process (Linux only; empty elsewhere).</summary>
    public static List<OsProcessInfo> ReadAll()
    {
        var all = new List<OsProcessInfo>();
        if (!HasProcFs)
        {
            return all;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && TryRead(pid) is { IsZombie: false } info)
            {
                all.Add(info);
            }
        }

        return all;
    }

    /// <summary>The live descendants of a process (children, their children, …), from one snapshot of the process table.</summary>
    public static List<OsProcessInfo> Descendants(int pid, List<OsProcessInfo>? snapshot = null)
    {
        snapshot ??= ReadAll();
        var byParent = snapshot.ToLookup(p => p.ParentPid);
        var result = new List<OsProcessInfo>();
        var queue = new Queue<int>();
        queue.Enqueue(pid);
        while (queue.Count > 0 && result.Count < 10_000)
        {
            foreach (var child in byParent[queue.Dequeue()])
            {
                result.Add(child);
                queue.Enqueue(child.Pid);
            }
        }

        return result;
    }

    /// <summary>
    /// The live members of the process group a runtime created with <c>setsid</c> (group id = the leader's pid), but
    /// only while that group id cannot belong to anyone else: the leader is either the recorded process, or gone (the
    /// kernel does not reuse a pid while a group with that id has members). Members started before the leader are never
    /// included.
    /// </summary>
    public static List<OsProcessInfo> GroupMembers(int leaderPid, long leaderStartTicks, List<OsProcessInfo>? snapshot = null)
    {
        snapshot ??= ReadAll();
        if (leaderStartTicks == 0)
        {
            return [];
        }

        var leader = snapshot.FirstOrDefault(p => p.Pid == leaderPid);
        if (leader.Pid == leaderPid && leader.StartTicks != leaderStartTicks)
        {
            return []; // The pid was recycled: that group is someone else's.
        }

        return [.. snapshot.Where(p => p.ProcessGroup == leaderPid && p.StartTicks >= leaderStartTicks)];
    }

    /// <summary>Sends a signal to a process after checking it is still the recorded one. Returns whether the signal was sent.</summary>
    public static bool Signal(int pid, long startTicks, int signal)
    {
        if (OperatingSystem.IsWindows() || !IsSameProcess(pid, startTicks))
        {
            return false;
        }

        try
        {
            return Kill(pid, signal) == 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // No libc kill(2) here: the caller falls back to Process.Kill.
        }
    }

    /// <summary>Sends SIGKILL to each process of a snapshot that still has its recorded start time; returns those signalled.</summary>
    public static List<OsProcessInfo> KillAll(IEnumerable<OsProcessInfo> processes)
    {
        var killed = new List<OsProcessInfo>();
        foreach (var p in processes)
        {
            if (Signal(p.Pid, p.StartTicks, SigKill))
            {
                killed.Add(p);
            }
        }

        return killed;
    }

    /// <summary>
    /// Waits (bounded by <paramref name="timeout"/>) until signalled processes are really gone: a signal is delivered
    /// asynchronously, and a caller that killed something usually needs its ports, files or pid slot free next.
    /// </summary>
    /// <returns>Whether every process is gone.</returns>
    public static async Task<bool> WaitUntilGoneAsync(IReadOnlyCollection<OsProcessInfo> processes, TimeProvider time, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var started = time.GetTimestamp();
        while (processes.Any(p => IsSameProcess(p.Pid, p.StartTicks)))
        {
            if (time.GetElapsedTime(started) >= timeout)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(5), time, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    // A blittable DllImport: no marshalling stub, so the project needs no unsafe code for LibraryImport.
    [DllImport("libc", EntryPoint = "kill")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
}
