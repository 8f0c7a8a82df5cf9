using System.Diagnostics;
using Bpi.Orchestration.Cli.Config;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>Hostile or odd command-line input: paths as ids, huge durations, special files, control characters.</summary>
public sealed class HostileInputTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly CliSandbox _cli = new();

    public void Dispose() => _cli.Dispose();

    private const string DenyControl = "[read] allow * read * *\n[keep] deny * destroy,resume,abort * *\n";

    public static TheoryData<string, bool> PathIdCases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var command in new[] { "destroy", "resume", "abort" })
        {
            data.Add(command, false);
            data.Add(command, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathIdCases))]
    public async Task A_path_given_as_deployment_id_deletes_nothing_even_under_a_deny_policy(string command, bool denyPolicy)
    {
        // An earlier `pause` made the paused/ folder; `../../x` from there leaves the state directory.
        Directory.CreateDirectory(Path.Combine(_cli.StateDir, "paused"));
        var absolute = _cli.WriteFile("victim.txt", "precious");
        var outside = Path.Combine(Path.GetDirectoryName(_cli.StateDir)!, Path.GetFileName(_cli.StateDir) + "-victim.txt");
        File.WriteAllText(outside, "precious");
        try
        {
            var policy = denyPolicy ? new[] { "--policy", _cli.WriteFile("deny.txt", DenyControl) } : [];
            foreach (var id in new[] { absolute, "../../" + Path.GetFileName(outside) })
            {
                var result = await _cli.RunAsync([command, "-d", id, "--lock-timeout", "0s", .. policy]);
                Assert.True(result.ExitCode == ExitCodes.UsageError, result.ToString());
                Assert.Contains("is not a deployment id", result.Error, StringComparison.Ordinal);
            }

            Assert.Equal("precious", File.ReadAllText(absolute));
            Assert.Equal("precious", File.ReadAllText(outside));
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Theory]
    [InlineData("ls", "--lock-timeout", "1e308s")]
    [InlineData("ls", "--lock-timeout", "Infinity")]
    [InlineData("status", "-d", "web-1", "--continuous", "--interval", "1e300s")]
    [InlineData("deploy", "--config", "web.yaml", "--timeout", "Infinity")]
    [InlineData("scale", "-d", "web-1", "--replicas", "1", "--timeout", "1300h")]
    [InlineData("ls", "--lock-timeout", "9223372036854775807")]
    public async Task A_duration_option_too_large_for_a_timer_is_a_usage_error_with_the_range(params string[] args)
    {
        var result = await _cli.RunAsync(args);

        Assert.True(result.ExitCode == ExitCodes.UsageError, result.ToString());
        Assert.Contains("576h", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("deploy", "--config", "")]
    [InlineData("security", "scan", "--config", "")]
    [InlineData("status", "-d", "")]
    [InlineData("status", "-d", "web\u001b]0;owned\u0007")]
    public async Task An_empty_path_or_malformed_id_is_a_usage_error_without_a_stack_trace(params string[] args)
    {
        var result = await _cli.RunAsync(args);

        Assert.True(result.ExitCode == ExitCodes.UsageError, result.ToString());
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', result.Error);
    }

    public static TheoryData<string> SpecialFiles() => ["/dev/zero", "fifo", "directory"];

    [Theory]
    [MemberData(nameof(SpecialFiles))]
    public async Task A_config_that_is_not_a_regular_file_is_refused_at_once_naming_it(string kind)
    {
        var path = SpecialFile(kind);
        var result = await RunWithinDeadlineAsync(path, "deploy", "--config", path);

        Assert.True(result.ExitCode == ExitCodes.InvalidConfig, result.ToString());
        Assert.Contains(path, result.Error, StringComparison.Ordinal);
        Assert.Contains("not a regular file", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(SpecialFiles))]
    public async Task A_policy_that_is_not_a_regular_file_is_refused_at_once_naming_it(string kind)
    {
        var path = SpecialFile(kind);
        var result = await RunWithinDeadlineAsync(path, "deploy", "--config", _cli.WriteFile("web.yaml", WebConfig), "--policy", path);

        Assert.True(result.ExitCode == ExitCodes.InvalidConfig, result.ToString());
        Assert.Contains(path, result.Error, StringComparison.Ordinal);
        Assert.Contains("not a regular file", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("does not exist", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(SpecialFiles))]
    public async Task A_verifier_key_that_is_not_a_regular_file_is_refused_at_once_naming_it(string kind)
    {
        var path = SpecialFile(kind);
        Directory.CreateDirectory(Path.Combine(_cli.StateDir, "audit"));
        var result = await RunWithinDeadlineAsync(path, "audit", "verify", "--key", path);

        Assert.True(result.ExitCode == ExitCodes.InvalidConfig, result.ToString());
        Assert.Contains(path, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_config_larger_than_one_mebibyte_is_refused_naming_the_limit()
    {
        var path = _cli.WriteFile("huge.yaml", WebConfig + "# " + new string('x', 1024 * 1024) + "\n");

        var result = await _cli.RunAsync("security", "scan", "--config", path);

        Assert.True(result.ExitCode == ExitCodes.InvalidConfig, result.ToString());
        Assert.Contains("larger than 1048576 bytes", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_verifier_key_file_is_not_found()
    {
        Directory.CreateDirectory(Path.Combine(_cli.StateDir, "audit"));

        var result = await _cli.RunAsync("audit", "verify", "--key", _cli.Dir("nonexistent.txt"));

        Assert.True(result.ExitCode == ExitCodes.NotFound, result.ToString());
        Assert.Contains("nonexistent.txt", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_state_directory_that_is_a_file_is_named_as_such()
    {
        var file = _cli.WriteFile("not-a-dir", "x");

        var result = await _cli.RunAsync("deploy", "--config", _cli.WriteFile("web.yaml", WebConfig), "--state-dir", file);

        Assert.True(result.ExitCode == ExitCodes.UsageError, result.ToString());
        Assert.Contains("is a file, not a directory", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sdk_api_names_do_not_appear_in_cli_messages()
    {
        var result = await _cli.RunAsync("scale", "-d", "nothing-12345678", "--replicas", "1");

        Assert.True(result.ExitCode == ExitCodes.NotFound, result.ToString());
        Assert.DoesNotContain("ListAsync", result.Error, StringComparison.Ordinal);
        Assert.Contains("bpi-orchestration list-deployments", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Escape_sequences_in_config_values_are_shown_escaped_not_sent_to_the_terminal()
    {
        var path = _cli.WriteFile("esc.yaml", "name: \"web\\e]0;OWNED\\a\\e[2J\"\nappId: shop\ncomponents: [{id: w, command: /bin/sleep}]\n");

        var result = await _cli.RunAsync("security", "scan", "--config", path);

        Assert.True(result.ExitCode == ExitCodes.InvalidConfig, result.ToString());
        Assert.DoesNotContain('\u001b', result.Error + result.Output);
        Assert.DoesNotContain('\u0007', result.Error + result.Output);
        Assert.Contains("\\u001b]0;OWNED", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_relative_working_directory_resolves_against_the_config_file_not_the_current_directory()
    {
        var config = _cli.WriteFile("configs/web.yaml", """
            name: web
            appId: shop
            components:
              - id: w
                command: { fileName: /bin/sleep, arguments: ["1"], workingDirectory: work/dir }
            """);

        var spec = await DeploymentConfigLoader.LoadFileAsync(config, new ConfigOverrides(), CancellationToken.None);

        Assert.Equal(Path.Combine(Path.GetDirectoryName(config)!, "work", "dir"), spec.Components[0].Command!.WorkingDirectory);
    }

    private const string WebConfig = "name: web\nappId: shop\ncomponents: [{id: w, command: [/bin/sleep, \"600\"]}]\n";

    private string SpecialFile(string kind)
    {
        switch (kind)
        {
            case "fifo":
                var fifo = _cli.Dir("input.fifo");
                using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [fifo]) { UseShellExecute = false })!)
                {
                    mkfifo.WaitForExit();
                    Assert.Equal(0, mkfifo.ExitCode);
                }

                return fifo;
            case "directory":
                var directory = _cli.Dir("a-directory");
                Directory.CreateDirectory(directory);
                return directory;
            default:
                return kind;
        }
    }

    /// <summary>Runs a command that reads <paramref name="special"/> and fails the test (instead of hanging) when it does not end within the deadline; a reader blocked on a FIFO is then released.</summary>
    private async Task<CliResult> RunWithinDeadlineAsync(string special, params string[] args)
    {
        var run = _cli.RunAsync(args);
        try
        {
            return await run.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            if (special.EndsWith(".fifo", StringComparison.Ordinal))
            {
                // Opening the write end pairs with the blocked reader, which then reads end-of-file and goes on.
                await File.WriteAllTextAsync(special, "");
            }

            Assert.Fail($"'{string.Join(' ', args)}' did not end within {Deadline.TotalSeconds} s: it blocked on or read without end from {special}.");
            throw;
        }
    }
}
