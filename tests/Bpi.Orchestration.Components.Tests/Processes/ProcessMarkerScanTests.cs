using System.Diagnostics;
using System.Globalization;
using Bpi.Orchestration.Processes;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Processes;

/// <summary>The owner-marker scan that rebuilds a damaged process table: it must see every marked process, even one caught inside exec.</summary>
public sealed class ProcessMarkerScanTests
{
    [Fact]
    public async Task A_marked_process_that_execs_over_and_over_is_found_by_every_scan_never_missed_in_the_instant_its_environment_is_empty()
    {
        using var directory = new TempDirectory();
        var script = Path.Combine(directory.Path, "chain.sh");
        // Each round replaces the process image (same pid): the kernel shows an empty /proc/<pid>/environ between the
        // two halves of every exec. 600 rounds keep it inside that window often while the test scans.
        await File.WriteAllTextAsync(script, """
            n=${CHAIN:-0}
            if [ "$n" -gt 0 ]; then CHAIN=$((n-1)) exec /bin/sh "$0"; fi
            exec sleep 300
            """);
        var record = new ProcessRecord
        {
            InstanceId = "chain-1",
            Sequence = 1,
            Pid = 0,
            StartTicks = 0,
            Labels = new Dictionary<string, string>(),
            WorkingDirectory = directory.Path,
            StartedAt = DateTimeOffset.UnixEpoch,
        };
        var start = new ProcessStartInfo("/bin/sh", [script]) { UseShellExecute = false };
        start.Environment["CHAIN"] = "600";
        ProcessMarkers.Apply(start, directory.Path, record);
        using var process = Process.Start(start)!;
        try
        {
            var scans = 0;
            var missed = 0;
            var deadline = Stopwatch.StartNew();
            while (!IsSleeping(process.Id) && deadline.Elapsed < TimeSpan.FromSeconds(120))
            {
                var found = ProcessMarkers.Scan(directory.Path);
                scans++;
                if (!found.TryGetValue(record.InstanceId, out var instance) || instance.Main.Pid != process.Id)
                {
                    missed++;
                }
            }

            Assert.True(IsSleeping(process.Id), "the exec chain did not reach its final sleep within 120 s");
            Assert.True(scans >= 5, $"only {scans} scans overlapped the exec chain: the test proved nothing");
            Assert.Equal(0, missed);
            Assert.Single(ProcessMarkers.Scan(directory.Path));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public void Kernel_threads_are_recognised_from_their_stat_flags_and_are_never_read_for_a_marker()
    {
        // kthreadd: flags 0x208040 carry PF_KTHREAD (0x200000); a shell's 0x400000 does not.
        const string kernel = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0 18446744073709551615";
        const string user = "4242 (sh) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615";

        Assert.True(OsProcesses.Parse(2, kernel)!.Value.IsKernelThread);
        Assert.False(OsProcesses.Parse(4242, user)!.Value.IsKernelThread);
    }

    private static bool IsSleeping(int pid)
    {
        try
        {
            return File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/comm").Trim() == "sleep";
        }
        catch (IOException)
        {
            return false;
        }
    }
}
