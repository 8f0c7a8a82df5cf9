using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Processes;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Cli.Demo;

/// <summary>
/// Removes what a <c>demo</c> killed without a chance to clean up (SIGKILL, a lost terminal) left running: its
/// SampleService processes keep running after it, and its state directory is a temporary one nobody knows. Every demo
/// without <c>--state-dir</c> works in <c>$TMPDIR/bpi-orchestration-demo-*</c> and holds that directory's orchestrator
/// lock while it runs (an OS file lock, dropped by the kernel when the process dies). So a demo directory whose lock can
/// be taken and that has a lock owner file (its demo took the lock once) belongs to a demo that is gone: a process
/// runtime opened on it finds every process of its own through the owner markers the processes carry
/// (<c>BPI_ORCHESTRATION_STATE_DIRECTORY</c> names that directory), removes them, and the directory is deleted. The
/// directory of a demo still running is locked and never touched.
/// </summary>
internal static class KilledDemoCleanup
{
    /// <summary>The name every temporary demo state directory starts with, under <see cref="Path.GetTempPath"/>.</summary>
    public const string DirectoryPrefix = "bpi-orchestration-demo-";

    /// <summary>Removes the processes and state directories of killed demos; returns one line per directory cleaned.</summary>
    /// <param name="tempRoot">Where demo directories are made (<see cref="Path.GetTempPath"/>).</param>
    /// <param name="cancellationToken">Cancels the cleanup (what is left is found by the next one).</param>
    public static async Task<IReadOnlyList<string>> RunAsync(string tempRoot, CancellationToken cancellationToken)
    {
        var cleaned = new List<string>();
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateDirectories(tempRoot, DirectoryPrefix + "*").ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return cleaned;
        }

        foreach (var path in candidates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var state = new StateDirectory(path);

            // No owner file: a demo that made the directory an instant ago and is about to lock it; leave it.
            if (!File.Exists(state.LockFile + ".owner"))
            {
                continue;
            }

            StateLock? held;
            try
            {
                held = StateLock.TryTake(state.LockFile, "demo cleanup");
            }
            catch (CliException)
            {
                continue; // Another user's, or unusable: not ours to clean.
            }

            if (held is null)
            {
                continue; // A live demo holds it.
            }

            int removed;
            using (held)
            {
                try
                {
                    removed = await RemoveProcessesAsync(state, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OrchestrationException)
                {
                    // A demo that ended normally may be deleting its directory right now; anything left is found next time.
                    continue;
                }
            }

            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Its processes are gone; the OS cleans the temporary directory eventually.
            }

            cleaned.Add($"removed {removed} process(es) left by a killed demo (state {path})");
        }

        return cleaned;
    }

    private static async Task<int> RemoveProcessesAsync(StateDirectory state, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(state.Processes))
        {
            return 0;
        }

        await using var runtime = new ProcessWorkloadRuntime(Options.Create(new ProcessRuntimeOptions { StateDirectory = state.Processes }));
        var owned = await runtime.ListOwnedAsync(cancellationToken).ConfigureAwait(false);
        foreach (var deployment in owned.Select(i => i.DeploymentId).Distinct(StringComparer.Ordinal))
        {
            await runtime.RemoveDeploymentAsync(deployment, cancellationToken).ConfigureAwait(false);
        }

        return owned.Count(i => !i.IsTerminated);
    }
}
