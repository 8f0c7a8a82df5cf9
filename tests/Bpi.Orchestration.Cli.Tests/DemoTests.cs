using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

public sealed class DemoTests : IDisposable
{
    private readonly CliSandbox _cli = new();

    public void Dispose() => _cli.Dispose();

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
}
