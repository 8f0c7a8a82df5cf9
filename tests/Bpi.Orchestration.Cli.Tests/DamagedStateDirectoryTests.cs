using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>A state directory whose files were damaged, replaced or locked: every command says which file and what to do.</summary>
public sealed class DamagedStateDirectoryTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly CliSandbox _cli = new();

    public void Dispose()
    {
        var left = ProcFs.KillAllIn(_cli.StateDir);
        _cli.Dispose();
        Assert.True(left.Count == 0, $"processes were left running (now killed): {string.Join(", ", left)}");
    }

    private async Task<string> DeployAsync(string name)
    {
        var config = _cli.WriteFile(name + ".yaml", $"name: {name}\nappId: shop\ncomponents: [{{id: w, command: [/bin/sleep, \"600\"]}}]\n");
        var deploy = await _cli.RunAsync("deploy", "--config", config, "-o", "json");
        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        return deploy.Json.GetProperty("id").GetString()!;
    }

    private string RecordOf(string id) => Path.Combine(_cli.StateDir, "deployments", id + ".json");

    private async Task DestroyAsync(params string[] ids)
    {
        foreach (var id in ids)
        {
            var destroy = await _cli.RunAsync("destroy", "-d", id, "--force");
            Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
        }
    }

    [Theory]
    [InlineData("null")]
    [InlineData("[]")]
    public async Task A_record_without_revisions_is_reported_by_file_and_does_not_block_the_others(string revisions)
    {
        var web = await DeployAsync("web");
        var api = await DeployAsync("api");
        var original = File.ReadAllText(RecordOf(web));
        var record = JsonNode.Parse(original)!;
        record["revisions"] = JsonNode.Parse(revisions);
        File.WriteAllText(RecordOf(web), record.ToJsonString());

        var status = await _cli.RunAsync("status", "-d", web);
        Assert.True(status.ExitCode == ExitCodes.InvalidConfig, status.ToString());
        Assert.Contains(RecordOf(web), status.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", status.Error, StringComparison.Ordinal);

        var list = await _cli.RunAsync("ls");
        Assert.True(list.ExitCode == ExitCodes.Success, list.ToString());
        Assert.Contains(api, list.Output, StringComparison.Ordinal);
        Assert.Contains($"skipped deployments/{web}.json", list.Error, StringComparison.Ordinal);

        var scale = await _cli.RunAsync("scale", "-d", api, "--replicas", "2");
        Assert.True(scale.ExitCode == ExitCodes.Success, scale.ToString());
        Assert.Contains($"skipped deployments/{web}.json", scale.Error, StringComparison.Ordinal);
        // Its instance was not taken for an orphan: it still runs.
        Assert.Equal(3, ProcFs.WorkingIn(_cli.StateDir).Count);

        File.WriteAllText(RecordOf(web), original);
        await DestroyAsync(api, web);
    }

    [Fact]
    public async Task Garbage_and_directories_among_the_records_are_listed_as_warnings_by_file_name()
    {
        var web = await DeployAsync("web");
        File.WriteAllText(Path.Combine(_cli.StateDir, "deployments", "junk.json"), "\u0087garbage");
        Directory.CreateDirectory(Path.Combine(_cli.StateDir, "deployments", "odd-dir.json"));

        var list = await _cli.RunAsync("ls");
        Assert.True(list.ExitCode == ExitCodes.Success, list.ToString());
        Assert.Contains(web, list.Output, StringComparison.Ordinal);
        Assert.Contains("skipped deployments/junk.json", list.Error, StringComparison.Ordinal);
        Assert.Contains("skipped deployments/odd-dir.json", list.Error, StringComparison.Ordinal);

        await DestroyAsync(web);
    }

    [Fact]
    public async Task A_record_replaced_by_a_directory_is_named_by_status()
    {
        Directory.CreateDirectory(RecordOf("web-12345678"));

        var status = await _cli.RunAsync("status", "-d", "web-12345678");

        Assert.True(status.ExitCode == ExitCodes.InvalidConfig, status.ToString());
        Assert.Contains("is a directory", status.Error, StringComparison.Ordinal);
        Assert.Contains(RecordOf("web-12345678"), status.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_that_is_a_fifo_or_links_to_dev_zero_is_refused_at_once()
    {
        Directory.CreateDirectory(Path.Combine(_cli.StateDir, "deployments"));
        var fifo = RecordOf("web-12345678");
        using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [fifo]) { UseShellExecute = false })!)
        {
            await mkfifo.WaitForExitAsync();
        }

        File.CreateSymbolicLink(RecordOf("api-12345678"), "/dev/zero");
        try
        {
            foreach (var args in new[] { new[] { "status", "-d", "web-12345678" }, ["status", "-d", "api-12345678"], ["ls"] })
            {
                var result = await _cli.RunAsync(args).WaitAsync(Deadline);
                Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
                Assert.Contains("not a regular file", result.Error, StringComparison.Ordinal);
            }
        }
        catch (TimeoutException)
        {
            await File.WriteAllTextAsync(fifo, "");
            Assert.Fail("a command blocked on a FIFO or read /dev/zero without end");
        }
    }

    [Fact]
    public async Task A_damaged_signing_key_names_the_file_and_what_to_do()
    {
        var web = await DeployAsync("web");
        var key = Path.Combine(_cli.StateDir, "audit-signing-key.pem");
        var original = File.ReadAllText(key);
        File.WriteAllText(key, "garbage");

        var scale = await _cli.RunAsync("scale", "-d", web, "--replicas", "1");

        Assert.True(scale.ExitCode == ExitCodes.InvalidConfig, scale.ToString());
        Assert.Contains(key, scale.Error, StringComparison.Ordinal);
        Assert.Contains("restore it from a backup", scale.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", scale.Error, StringComparison.Ordinal);
        File.WriteAllText(key, original);
        await DestroyAsync(web);
    }

    [Fact]
    public async Task A_damaged_or_missing_verifier_key_is_reported_as_such_not_as_a_missing_trail()
    {
        var web = await DeployAsync("web");
        var key = Path.Combine(_cli.StateDir, "audit-verifier-key.txt");
        var original = File.ReadAllText(key);
        File.WriteAllText(key, "garbage");

        var garbage = await _cli.RunAsync("audit", "verify");
        Assert.True(garbage.ExitCode == ExitCodes.InvalidConfig, garbage.ToString());
        Assert.Contains(key, garbage.Error, StringComparison.Ordinal);
        Assert.Contains("--key", garbage.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", garbage.Error, StringComparison.Ordinal);

        File.Delete(key);
        var missing = await _cli.RunAsync("audit", "verify");
        Assert.True(missing.ExitCode == ExitCodes.NotFound, missing.ToString());
        Assert.Contains("verifier key", missing.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("no audit trail", missing.Error, StringComparison.Ordinal);

        File.WriteAllText(key, original);
        await DestroyAsync(web);
    }

    [Theory]
    [InlineData("orchestrator.lock")]
    [InlineData("orchestrator.lock.owner")]
    public async Task A_lock_file_replaced_by_a_directory_is_an_io_error_naming_the_path_not_a_busy_state_directory(string name)
    {
        var web = await DeployAsync("web");
        var path = Path.Combine(_cli.StateDir, name);
        File.Delete(path);
        Directory.CreateDirectory(path);

        var scale = await _cli.RunAsync("scale", "-d", web, "--replicas", "1", "--lock-timeout", "0s");
        Assert.True(scale.ExitCode == ExitCodes.Failed, scale.ToString());
        Assert.Contains(path, scale.Error, StringComparison.Ordinal);
        Assert.Contains("is a directory", scale.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("another bpi-orchestration process", scale.Error, StringComparison.Ordinal);

        // Reading needs no lock: list still works, and says why it shows the stored records only.
        var list = await _cli.RunAsync("ls");
        Assert.True(list.ExitCode == ExitCodes.Success, list.ToString());
        Assert.Contains(web, list.Output, StringComparison.Ordinal);

        Directory.Delete(path);
        await DestroyAsync(web);
    }

    [Fact]
    public async Task The_lock_holder_named_in_the_busy_message_cannot_send_escape_sequences()
    {
        Directory.CreateDirectory(_cli.StateDir);
        var lockFile = Path.Combine(_cli.StateDir, "orchestrator.lock");
        using var held = new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        File.WriteAllText(lockFile + ".owner", "pid 1 \u001b]0;OWNED\u0007\u001b[2J");

        var scale = await _cli.RunAsync("scale", "-d", "web-12345678", "--replicas", "1", "--lock-timeout", "0s");

        Assert.True(scale.ExitCode == ExitCodes.Conflict, scale.ToString());
        Assert.DoesNotContain('\u001b', scale.Error);
        Assert.Contains("pid 1 \\u001b]0;OWNED\\u0007", scale.Error, StringComparison.Ordinal);
    }
}
