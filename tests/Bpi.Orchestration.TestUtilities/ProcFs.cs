using System.Globalization;
using Xunit;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>Finds live processes through <c>/proc</c>, to prove that nothing a test started is left behind.</summary>
public static class ProcFs
{
    /// <summary>Live (non-zombie) processes whose environment contains <paramref name="entry"/>, e.g. <c>BPI_DEPLOYMENT_ID=x</c> (inherited by their children too).</summary>
    public static List<int> WithEnvironment(string entry)
    {
        var found = new List<int>();
        foreach (var pid in Pids())
        {
            try
            {
                var environment = ReadEnvironment(pid);
                if (environment.Split('\0').Contains(entry) && IsAlive(pid))
                {
                    found.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours to read.
            }
        }

        return found;
    }

    /// <summary>
    /// A process's environment; a live one that shows none is read again for a bounded moment, for a process inside
    /// execve (a shell's <c>exec</c>, say) shows an empty environment for an instant — a count taken right after a start
    /// missed such a process (the runtime's own marker scan does the same, see ProcessMarkers).
    /// </summary>
    private static string ReadEnvironment(int pid)
    {
        var path = Path.Combine("/proc", pid.ToString(CultureInfo.InvariantCulture), "environ");
        var environment = File.ReadAllText(path);
        if (environment.Length > 0 || StatFields(pid) is not { } stat || stat[0] is "Z" or "X" || IsKernelThread(stat))
        {
            return environment;
        }

        // A live user process: re-read until the exec has laid out the new environment (a gone process throws, which
        // the caller takes as gone; a zombie is refused by the caller's IsAlive).
        var spin = new SpinWait();
        for (var round = 0; environment.Length == 0 && round < 200; round++)
        {
            spin.SpinOnce();
            environment = File.ReadAllText(path);
        }

        return environment;
    }

    /// <summary>Whether <c>/proc/[pid]/stat</c>'s flags mark a kernel thread (<c>PF_KTHREAD</c>): it has no environment, ever.</summary>
    private static bool IsKernelThread(string[] stat)
        => uint.TryParse(stat[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var flags) && (flags & 0x00200000) != 0;

    /// <summary>The fields of <c>/proc/[pid]/stat</c> after the command name (state first), or <see langword="null"/> when the process is gone or unreadable.</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine("/proc", pid.ToString(CultureInfo.InvariantCulture), "stat"));
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Live processes whose working directory is inside <paramref name="directory"/> (every instance of the process runtime works in its state directory).</summary>
    public static List<int> WorkingIn(string directory)
    {
        var root = Path.GetFullPath(directory);
        var found = new List<int>();
        foreach (var pid in Pids())
        {
            try
            {
                var cwd = new DirectoryInfo(Path.Combine("/proc", pid.ToString(CultureInfo.InvariantCulture), "cwd")).LinkTarget;
                if (cwd is not null && cwd.StartsWith(root, StringComparison.Ordinal) && IsAlive(pid))
                {
                    found.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours.
            }
        }

        return found;
    }

    /// <summary>Kills whatever still runs in <paramref name="directory"/> (after a failed test) and returns the pids it found.</summary>
    public static List<int> KillAllIn(string directory)
    {
        var left = WorkingIn(directory);
        foreach (var pid in left)
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }

        return left;
    }

    /// <summary>Fails the test when a process still runs in <paramref name="directory"/>.</summary>
    public static void AssertNoneIn(string directory) => Assert.True(WorkingIn(directory).Count == 0, $"processes left in {directory}: {string.Join(", ", WorkingIn(directory))}");

    /// <summary>Whether a process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid) => StatFields(pid) is { } stat && stat[0] != "Z";

    private static IEnumerable<int> Pids()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid != Environment.ProcessId)
            {
                yield return pid;
            }
        }
    }
}
