using System.Diagnostics;
using System.Text;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>
/// A demo killed with SIGKILL cannot clean up: its SampleService processes keep running and its state directory is a
/// temporary one nobody knows. The next demo finds them (by the owner markers they carry) and removes them.
/// </summary>
public sealed class KilledDemoTests : IDisposable
{
    private readonly CliSandbox _cli = new();

    /// <summary>The demos' temporary directory (their <c>TMPDIR</c>): this test's demos only, not another test's.</summary>
    private string TempRoot => _cli.StateDir + "-tmp";

    public void Dispose()
    {
        var left = ProcFs.KillAllIn(TempRoot);
        _cli.Dispose();
        try
        {
            Directory.Delete(TempRoot, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }

        Assert.True(left.Count == 0, $"processes were left running (now killed): {string.Join(", ", left)}");
    }

    [Fact]
    public async Task SelfHealing_the_processes_of_a_demo_killed_with_SIGKILL_are_removed_by_the_next_demo()
    {
        Directory.CreateDirectory(TempRoot);
        using var first = StartDemo(out var firstOutput);
        try
        {
            // v1 runs as 3 SampleService processes in the demo's temporary state directory.
            await Eventually.UntilAsync(() => ProcFs.WorkingIn(TempRoot).Count >= 3 || first.HasExited, "the first demo's v1 processes run", TimeSpan.FromMinutes(2));
            Assert.False(first.HasExited, $"the first demo ended before its v1 ran: {firstOutput}");
            first.Kill(); // SIGKILL: the demo has no chance to clean up.
            await first.WaitForExitAsync();
        }
        finally
        {
            if (!first.HasExited)
            {
                first.Kill();
            }
        }

        var orphans = ProcFs.WorkingIn(TempRoot);
        Assert.True(orphans.Count >= 1, "the killed demo left no process behind: the test proves nothing");

        // The next demo (on the same temporary directory) removes them before it starts, then runs as usual.
        using var second = StartDemo(out var secondOutput);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4)))
        {
            await second.WaitForExitAsync(timeout.Token);
        }

        Assert.True(second.ExitCode == ExitCodes.Success, $"exit {second.ExitCode}\n{secondOutput}");
        Assert.Contains("left by a killed demo", secondOutput.ToString(), StringComparison.Ordinal);
        Assert.All(orphans, pid => Assert.False(ProcFs.IsAlive(pid), $"process {pid} of the killed demo still runs"));
        ProcFs.AssertNoneIn(TempRoot);
        Assert.Empty(Directory.GetDirectories(TempRoot, "bpi-orchestration-demo-*"));
    }

    private Process StartDemo(out StringBuilder output)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { CliSandbox.CliDll, "demo", "--sample-service", CliSandbox.SampleServiceDll })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CI"] = "true";
        start.Environment["TMPDIR"] = TempRoot;
        start.Environment["HOME"] = _cli.StateDir + "-home";
        start.Environment.Remove(CliEnvironment.StateDirVariable);
        var process = Process.Start(start)!;
        var text = output = new StringBuilder();
        DataReceivedEventHandler append = (_, e) =>
        {
            lock (text)
            {
                text.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += append;
        process.ErrorDataReceived += append;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
