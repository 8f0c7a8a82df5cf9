using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>Component secrets are sealed in the state directory (they were stored in plain text in deployments/&lt;id&gt;.json).</summary>
public sealed partial class SecretsAtRestTests : IDisposable
{
    private readonly CliSandbox _cli = new();
    private readonly string _secret = "s3cret-" + Guid.NewGuid().ToString("N");
    private readonly string _rotated = "r0tated-" + Guid.NewGuid().ToString("N");

    public void Dispose()
    {
        var left = ProcFs.KillAllIn(_cli.StateDir);
        _cli.Dispose();
        Assert.True(left.Count == 0, $"processes were left running (now killed): {string.Join(", ", left)}");
    }

    private string Config(string name, string secret) => _cli.WriteFile(name, $$"""
        name: vault
        appId: shop
        environment: staging
        components:
          - id: web
            command: {{CliSandbox.SampleServiceDll}}
            replicas: 1
            ports: [8080]
            environment: { SAMPLE_VERSION: "{{name}}" }
            secrets: { API_KEY: "{{secret}}" }
            healthCheck: { path: /health, period: 300ms }
        validation: { pollInterval: 100ms, progressDeadline: 90s }
        """);

    [Fact]
    public async Task No_file_in_the_state_directory_holds_a_secret_or_a_rotated_out_one()
    {
        var deploy = await _cli.RunAsync("deploy", "--config", Config("v1.yaml", _secret), "--output", "json");
        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        var id = deploy.Json.GetProperty("id").GetString()!;
        var update = await _cli.RunAsync("update", "--deployment-id", id, "--config", Config("v2.yaml", _rotated), "--output", "json");
        Assert.True(update.ExitCode == ExitCodes.Success, update.ToString());

        AssertNowhereInStateDirectory(_secret, _rotated);
        var record = await File.ReadAllTextAsync(Path.Combine(_cli.StateDir, "deployments", id + ".json"));
        Assert.Equal(2, EnvelopePattern().Count(record)); // both revisions' API_KEY, sealed
        Assert.True(File.Exists(Path.Combine(_cli.StateDir, "secrets-key.txt")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_cli.StateDir, "secrets-key.txt")));
        }

        // A later command opens the sealed secrets again: a rollback to revision 1 hands its plain secret to the new instance.
        var rollback = await _cli.RunAsync("rollback", "--deployment-id", id, "--output", "json");
        Assert.True(rollback.ExitCode == ExitCodes.Success, rollback.ToString());
        if (OperatingSystem.IsLinux())
        {
            var environments = ProcFs.WorkingIn(_cli.StateDir).Select(pid => File.ReadAllText($"/proc/{pid}/environ")).ToList();
            Assert.Contains(environments, e => e.Split('\0').Contains("API_KEY=" + _secret));
        }

        AssertNowhereInStateDirectory(_secret, _rotated);
        Assert.Equal(ExitCodes.Success, (await _cli.RunAsync("destroy", "--deployment-id", id)).ExitCode);
    }

    [Fact]
    public async Task A_record_written_with_plain_secrets_still_loads_and_is_sealed_on_the_next_write()
    {
        var deploy = await _cli.RunAsync("deploy", "--config", Config("v1.yaml", _secret), "--output", "json");
        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        var id = deploy.Json.GetProperty("id").GetString()!;
        var path = Path.Combine(_cli.StateDir, "deployments", id + ".json");
        // As an earlier version wrote it: the value in plain text.
        await File.WriteAllTextAsync(path, EnvelopePattern().Replace(await File.ReadAllTextAsync(path), _secret));
        Assert.Contains(_secret, await File.ReadAllTextAsync(path), StringComparison.Ordinal);

        var scale = await _cli.RunAsync("scale", "--deployment-id", id, "--replicas", "2", "--output", "json");
        Assert.True(scale.ExitCode == ExitCodes.Success, scale.ToString());
        AssertNowhereInStateDirectory(_secret);
        Assert.Equal(ExitCodes.Success, (await _cli.RunAsync("destroy", "--deployment-id", id)).ExitCode);
    }

    [Fact]
    public async Task A_key_file_named_by_the_environment_variable_is_used_instead_of_one_in_the_state_directory()
    {
        var keyFile = _cli.WriteFile("key.txt", Convert.ToBase64String(new byte[32]) + "\n");
        _cli.Variables["BPI_ORCHESTRATION_SECRETS_KEY_FILE"] = keyFile;
        var deploy = await _cli.RunAsync("deploy", "--config", Config("v1.yaml", _secret), "--no-wait", "--output", "json");
        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        Assert.False(File.Exists(Path.Combine(_cli.StateDir, "secrets-key.txt")));
        AssertNowhereInStateDirectory(_secret);

        // Without that key the sealed secret cannot be opened: a key of the wrong size is refused before anything runs.
        await File.WriteAllTextAsync(keyFile, "c2hvcnQ=\n");
        var refused = await _cli.RunAsync("destroy", "--deployment-id", deploy.Json.GetProperty("id").GetString()!);
        Assert.True(refused.ExitCode == ExitCodes.InvalidConfig, refused.ToString());
        Assert.Contains("32 bytes", refused.Error, StringComparison.Ordinal);
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(new byte[32]) + "\n");
        Assert.Equal(ExitCodes.Success, (await _cli.RunAsync("destroy", "--deployment-id", deploy.Json.GetProperty("id").GetString()!, "--force")).ExitCode);
    }

    /// <summary>Neither the value nor its base64 (nor its UTF-16) appears in any file under the state directory.</summary>
    private void AssertNowhereInStateDirectory(params string[] values)
    {
        var needles = values.SelectMany(v => new[] { Encoding.UTF8.GetBytes(v), Encoding.UTF8.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(v))), Encoding.Unicode.GetBytes(v) }).ToList();
        foreach (var file in Directory.EnumerateFiles(_cli.StateDir, "*", SearchOption.AllDirectories))
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(file);
            }
            catch (IOException)
            {
                continue; // the lock file, or a file removed meanwhile
            }

            foreach (var needle in needles)
            {
                Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"{file} holds a secret ({Encoding.UTF8.GetString(needle)}).");
            }
        }
    }

    [GeneratedRegex("bpi-secret:v1:[^\"]+")]
    private static partial Regex EnvelopePattern();
}
