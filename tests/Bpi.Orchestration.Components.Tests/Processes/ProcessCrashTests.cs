using System.Diagnostics;
using System.Globalization;
using System.Text;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Options;
using Xunit;
using Xunit.Abstractions;

namespace Bpi.Orchestration.Components.Tests.Processes;

/// <summary>
/// A child process (Bpi.Orchestration.Components.CrashHost) scales a revision of <c>/bin/sleep 600</c> up to 3 on a
/// state directory and is killed with SIGKILL 0–50 ms after it announced the step, over and over. After each kill the
/// runtime is opened on the same directory, as the next command would: every process the dead host started must be
/// tracked, and removing the deployment must leave no process and no working directory behind.
/// </summary>
public sealed class ProcessCrashTests(ITestOutputHelper output)
{
    private const int Replicas = 3;

    [Fact]
    public async Task Killing_the_orchestrator_during_a_scale_up_leaves_no_process_the_next_runtime_does_not_track()
    {
        // 32 rounds in CI (CI is set); 10 locally, where each round (a dotnet host start) can take seconds on a busy machine.
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("BPI_CRASH_ROUNDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r > 0
            ? r
            : string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")) ? 10 : 32;
        var id = "crash" + Guid.NewGuid().ToString("N")[..8];
        var stateDirectory = Path.Combine(Path.GetTempPath(), "bpi-orchestration-tests", id);
        var startedAtKill = new int[Replicas + 1];
        var clock = Stopwatch.StartNew();
        try
        {
            for (var round = 0; round < rounds; round++)
            {
                // Kill moments spread evenly over 0–50 ms after "scaling" (this is the harness choosing when to kill, not a wait).
                var delay = TimeSpan.FromMilliseconds(50.0 * round / Math.Max(1, rounds - 1));
                var deployment = $"{id}-{round}";
                var marker = "CRASH_TEST_MARKER=" + deployment;
                try
                {
                    await RunHostAndKillAsync(stateDirectory, deployment, delay);

                    // A child the host was forking when it died holds the host's runtime lock until its exec closes it
                    // (and shows the host's environment until then): wait for the lock, as the next command does.
                    await Eventually.UntilAsync(() => RuntimeLockIsFree(stateDirectory), $"round {round}: the dead host's runtime lock to be released", TimeSpan.FromSeconds(10));
                    // The next command: a new runtime on the same directory.
                    await using (var next = new ProcessWorkloadRuntime(Options.Create(new ProcessRuntimeOptions { StateDirectory = stateDirectory, GracePeriod = TimeSpan.FromSeconds(2) })))
                    {
                        var tracked = (await next.GetInstancesAsync(deployment)).Where(i => !i.IsTerminated).ToList();

                        // A process inside its shell's exec (`exec sleep`) shows no environment in /proc for an instant, so
                        // one look can miss it: wait for the marked processes to settle on the tracked count. An orphan
                        // (running, untracked) or a phantom (tracked, not running) never settles and fails the round.
                        var alive = await Eventually.UntilAsync(
                            () => Task.FromResult(ProcFs.WithEnvironment(marker)),
                            a => a.Count == tracked.Count,
                            $"round {round} (kill at +{delay.TotalMilliseconds:0} ms): the processes of the dead host to match the {tracked.Count} the next runtime tracks",
                            TimeSpan.FromSeconds(10));
                        startedAtKill[Math.Min(alive.Count, Replicas)]++;

                        await next.RemoveDeploymentAsync(deployment);
                        Assert.Empty(await next.GetInstancesAsync(deployment));
                    }

                    await Eventually.UntilAsync(() => ProcFs.WithEnvironment(marker).Count == 0, $"round {round}: every process of {deployment} to be gone", TimeSpan.FromSeconds(10));
                    var instances = Path.Combine(stateDirectory, "instances");
                    Assert.True(
                        !Directory.Exists(instances) || Directory.GetFileSystemEntries(instances).Length == 0,
                        $"round {round}: working directories left: {(Directory.Exists(instances) ? string.Join(", ", Directory.GetFileSystemEntries(instances)) : "")}");
                }
                finally
                {
                    foreach (var pid in ProcFs.WithEnvironment(marker))
                    {
                        KillByPid(pid); // whatever a failed round left: only processes carrying this round's marker
                    }
                }
            }
        }
        finally
        {
            try
            {
                Directory.Delete(stateDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        output.WriteLine($"{rounds} rounds in {clock.Elapsed.TotalSeconds:0.0} s; processes running at the kill: " + string.Join(", ", startedAtKill.Select((n, count) => $"{count}: {n} round(s)")));
    }

    private static async Task RunHostAndKillAsync(string stateDirectory, string deployment, TimeSpan delay)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "Bpi.Orchestration.Components.CrashHost.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var argument in new[] { host, stateDirectory, deployment, Replicas.ToString(CultureInfo.InvariantCulture), deployment })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            string? line;
            do
            {
                line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
            while (line is not null and not "scaling");

            if (line != "scaling")
            {
                Assert.Fail("the crash host never started its scale-up: " + await stderr);
            }

            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay); // the kill moment; not a wait for a condition
            }

            process.Kill(); // SIGKILL: no finally blocks, no flush, no dispose in the host
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
        }
    }

    private static void KillByPid(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    private static bool RuntimeLockIsFree(string stateDirectory)
    {
        try
        {
            using var probe = new FileStream(Path.Combine(stateDirectory, "runtime.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
