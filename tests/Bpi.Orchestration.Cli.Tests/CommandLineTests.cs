using System.Diagnostics;
using Bpi.Orchestration.Cli.Hosting;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

public sealed class CommandLineTests : IDisposable
{
    private readonly CliSandbox _cli = new();

    public void Dispose()
    {
        var left = ProcFs.KillAllIn(_cli.StateDir);
        _cli.Dispose();
        Assert.True(left.Count == 0, $"processes were left running (now killed): {string.Join(", ", left)}");
    }

    [Fact]
    public async Task Help_lists_every_command_and_the_exit_codes()
    {
        var result = await _cli.RunAsync("--help");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        foreach (var command in new[] { "start", "deploy", "update", "list-deployments", "status", "scale", "rollback", "pause", "resume", "abort", "promote", "approve", "reject", "destroy", "audit", "security", "demo", "schema" })
        {
            Assert.Contains(command, result.Output, StringComparison.Ordinal);
        }

        Assert.Contains("Exit codes:", result.Output, StringComparison.Ordinal);
        Assert.Contains("5    rolled back", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("deploy")]
    [InlineData("status")]
    [InlineData("deploy", "--config", "x.yaml", "--bogus")]
    [InlineData("list-deployments", "--output", "yaml")]
    [InlineData("status", "-d", "x", "--interval", "soon")]
    [InlineData("scale", "-d", "x", "--replicas", "many")]
    public async Task A_malformed_command_line_exits_2_with_a_message_on_stderr_and_nothing_on_stdout(params string[] args)
    {
        var result = await _cli.RunAsync(args);

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("--help", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
        Assert.False(Directory.Exists(_cli.StateDir), "a usage error touches no state");
    }

    [Fact]
    public async Task Schema_prints_the_config_files_json_schema()
    {
        var result = await _cli.RunAsync("schema");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal(Configuration.DeploymentDocument.JsonSchema, result.Output);
        Assert.Equal(Configuration.DeploymentDocument.JsonSchemaId, System.Text.Json.JsonDocument.Parse(result.Output).RootElement.GetProperty("$id").GetString());
    }

    [Fact]
    public async Task A_usage_error_in_a_subcommand_points_to_that_subcommands_help()
    {
        var result = await _cli.RunAsync("audit", "verify", "--bogus");

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains("Run 'bpi-orchestration audit verify --help' for usage.", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_usage_error_with_output_json_is_also_a_json_document()
    {
        var result = await _cli.RunAsync("status", "--output", "json");

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Equal("UsageError", result.Json.GetProperty("kind").GetString());
        Assert.Equal(2, result.Json.GetProperty("exitCode").GetInt32());
        Assert.Contains("--deployment-id", result.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_of_an_unknown_deployment_exits_6()
    {
        var text = await _cli.RunAsync("status", "-d", "nope");
        var json = await _cli.RunAsync("status", "-d", "nope", "-o", "json");

        Assert.Equal(ExitCodes.NotFound, text.ExitCode);
        Assert.Contains("no deployment has the id 'nope'", text.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.NotFound, json.ExitCode);
        Assert.Equal("NotFound", json.Json.GetProperty("kind").GetString());
    }

    [Fact]
    public async Task A_command_that_needs_the_orchestrator_exits_7_naming_the_process_that_holds_the_state_directory()
    {
        var state = new StateDirectory(_cli.StateDir);
        var config = _cli.WriteFile("web.yaml", ConfigTests.ValidYaml);
        using (await state.TryLockAsync("deploy", TimeSpan.Zero, TimeProvider.System, CancellationToken.None))
        {
            var result = await _cli.RunAsync("deploy", "--config", config, "--lock-timeout", "0s");

            Assert.Equal(ExitCodes.Conflict, result.ExitCode);
            Assert.Contains($"pid {Environment.ProcessId} (bpi-orchestration deploy)", result.Error, StringComparison.Ordinal);
            Assert.Contains("--lock-timeout", result.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_built_tool_runs_as_a_process_and_reports_a_usage_error_with_exit_code_2()
    {
        Assert.True(File.Exists(CliSandbox.CliDll), CliSandbox.CliDll);
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { CliSandbox.CliDll, "--state-dir", _cli.StateDir, "status" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(ExitCodes.UsageError, process.ExitCode);
        Assert.Contains("Option '--deployment-id' is required", await stderr, StringComparison.Ordinal);
        Assert.Equal("", await stdout);
    }
}
