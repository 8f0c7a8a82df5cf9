using System.Diagnostics;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

public sealed class DemoTests : IDisposable
{
    private readonly CliSandbox _cli = new();

    public void Dispose()
    {
        var left = ProcFs.KillAllIn(_cli.StateDir);
        _cli.Dispose();
        Assert.True(left.Count == 0, $"processes were left running (now killed): {string.Join(", ", left)}");
    }

    [Fact]
    public async Task The_demo_promotes_v2_rolls_back_v3_verifies_the_audit_trail_and_leaves_no_process()
    {
        var result = await _cli.RunAsync("demo", "--state-dir", _cli.StateDir, "--sample-service", CliSandbox.SampleServiceDll, "--output", "json");

        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        var report = result.Json;
        Assert.True(report.GetProperty("passed").GetBoolean());
        var checks = report.GetProperty("checks").EnumerateArray().ToList();
        Assert.True(checks.Count >= 8);
        Assert.All(checks, c => Assert.True(c.GetProperty("passed").GetBoolean(), c.ToString()));
        var traffic = report.GetProperty("traffic");
        Assert.True(traffic.GetProperty("canary 2.0.0").GetProperty("2.0.0").GetInt32() > 0);
        Assert.True(traffic.GetProperty("canary 2.0.0").GetProperty("1.0.0").GetInt32() > 0);
        Assert.False(traffic.GetProperty("after rollback").TryGetProperty("3.0.0", out _));
        Assert.True(report.GetProperty("auditEntries").GetInt64() > 0);

        // The trail the demo wrote verifies again from a new invocation, and nothing the demo started still runs.
        var verify = await _cli.RunAsync("audit", "verify", "-o", "json");
        Assert.True(verify.ExitCode == ExitCodes.Success, verify.ToString());
        ProcFs.AssertNoneIn(_cli.StateDir);
        var list = await _cli.RunAsync("list-deployments", "--filter", "destroyed", "-o", "json");
        Assert.Equal("Destroyed", Assert.Single(list.Json.GetProperty("deployments").EnumerateArray()).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Interrupting_the_demo_still_removes_every_process_it_started()
    {
        var result = await _cli.RunAsync(["demo", "--state-dir", _cli.StateDir, "--sample-service", CliSandbox.SampleServiceDll], interruptWhen: "==> 2/5");

        Assert.True(result.ExitCode == ExitCodes.Interrupted, result.ToString());
        ProcFs.AssertNoneIn(_cli.StateDir);
    }

    [Fact]
    public async Task The_readme_command_runs_the_built_tool_which_finds_its_own_copy_of_the_sample_service_and_leaves_no_process()
    {
        Assert.True(File.Exists(CliSandbox.CliDll), CliSandbox.CliDll);
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { CliSandbox.CliDll, "demo", "--state-dir", _cli.StateDir })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CI"] = "true";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == ExitCodes.Success, $"exit {process.ExitCode}\n{await stdout}\n{await stderr}");
        Assert.Contains("Demo passed", await stdout, StringComparison.Ordinal);
        ProcFs.AssertNoneIn(_cli.StateDir);
    }
}
