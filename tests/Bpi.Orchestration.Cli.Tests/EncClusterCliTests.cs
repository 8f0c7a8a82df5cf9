using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>
/// <c>type: enc_cluster</c> selects the EncCluster component manager, which the CLI registers on the process runtime: a
/// 3-member cluster of SampleService deploys from a config file, runs, and is destroyed with nothing left running.
/// </summary>
public sealed class EncClusterCliTests : IDisposable
{
    private readonly CliSandbox _cli = new();

    public void Dispose()
    {
        var left = ProcFs.KillAllIn(_cli.StateDir);
        _cli.Dispose();
        Assert.True(left.Count == 0, $"processes were left running (now killed): {string.Join(", ", left)}");
    }

    [Fact]
    public async Task A_three_member_enc_cluster_deploys_from_a_config_file_on_processes_and_is_destroyed()
    {
        var config = _cli.WriteFile("vault.yaml", $$"""
            name: vault
            appId: shop
            type: enc_cluster
            enc_cluster: { encryption_algorithm: aes256gcm, key_rotation_interval: 86400, cluster_size: 3 }
            components:
              - id: web
                command: {{CliSandbox.SampleServiceDll}}
                replicas: 3
                ports: [8080]
                healthCheck: { path: /health, period: 300ms }
            validation: { pollInterval: 100ms, progressDeadline: 90s }
            """);

        var deploy = await _cli.RunAsync("deploy", "--config", config, "--output", "json");

        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        var id = deploy.Json.GetProperty("id").GetString()!;
        Assert.Equal("Running", deploy.Json.GetProperty("state").GetString());
        Assert.Equal(3, ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count);
        var status = await _cli.RunAsync("status", "--deployment-id", id, "--output", "json");
        Assert.True(status.ExitCode == ExitCodes.Success, status.ToString());
        Assert.Equal("EncCluster", status.Json.GetProperty("type").GetString());

        var destroy = await _cli.RunAsync("destroy", "--deployment-id", id);

        Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
        await Eventually.UntilAsync(() => ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count == 0, $"every member of {id} to be gone");
    }
}
