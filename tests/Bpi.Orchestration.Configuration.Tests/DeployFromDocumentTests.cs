using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Configuration.Tests;

public sealed class DeployFromDocumentTests
{
    /// <summary>The deployed document; <c>VERSION</c> and <c>SERVER/</c> are replaced (also validated against the schema).</summary>
    internal const string Document = """
        name: shop
        appId: shop
        components:
          - id: web
            image: web:VERSION
            replicas: 4
            ports: [8080]
        infrastructure:
          resources: { cpuCores: 2, memoryMb: 2048 }
          network: { vpcCidr: 10.0.0.0/16, subnetCidrs: [10.0.1.0/24], securityGroups: [web] }
          security: { encryptionLevel: high, accessControl: { model: roleBased, roles: [deployer] } }
        strategy:
          type: canary
          hooks:
            preRollout: [{ name: announce, url: "SERVER/pre" }]
            postRollout: [{ name: done, url: "SERVER/post" }]
          steps:
            - setWeight: 25
            - analysis: { name: compare, judge: { samplesPerRevision: 100, minimumSampleSize: 20 } }
            - approval: { name: release, webhook: "SERVER/gate", webhookInterval: 1s, timeout: 10m }
            - setWeight: 100
        """;

    [Fact]
    public async Task A_config_using_the_judge_hooks_a_webhook_gate_and_an_infrastructure_block_deploys()
    {
        using var server = new LoopbackHttpServer(_ => 200);
        var clock = new ManualTimeProvider();
        var audit = new Auditing.InMemoryAuditSink(10_000);
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "config-test")
            .UseTimeProvider(clock)
            .UseAuditSink(audit)
            .AddInMemoryRuntime()
            .AddInMemoryTrafficRouter()
            .AddStrategies();
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var runtime = provider.GetRequiredService<InMemoryWorkloadRuntime>();
        runtime.Faults.RespondWith(_ => true, errorRate: 0, latency: TimeSpan.FromMilliseconds(40));
        DeploymentSpec Spec(string version) => DeploymentDocument.Parse(
            Document.Replace("VERSION", version, StringComparison.Ordinal).Replace("SERVER/", server.Url.ToString(), StringComparison.Ordinal),
            DeploymentDocumentFormat.Yaml,
            "shop.yaml");

        var id = await vm.DeployAsync(Spec("1"));
        Assert.Equal(DeploymentState.Running, (await DriveAsync(clock, vm.WaitUntilSettledAsync(id))).State);
        await vm.UpdateAsync(id, Spec("2"));
        var status = await DriveAsync(clock, vm.WaitUntilSettledAsync(id));

        Assert.True(status.State == DeploymentState.Running, status.Message);
        var paths = server.Paths.ToList();
        var (pre, gate, post) = (paths.LastIndexOf("/pre"), paths.IndexOf("/gate"), paths.LastIndexOf("/post"));
        Assert.True(pre >= 0 && pre < gate && gate < post, "hooks and gate in order: " + string.Join(", ", paths));
        Assert.Contains(audit.Snapshot(), e => e.Action == "analysis.run" && e.Outcome == "successful" && e.Data?["judge.score"] is not null);
        Assert.All(runtime.Snapshot(), i => Assert.Equal(2, i.Revision));
    }

    /// <summary>Advances the manual clock whenever something waits on it, until <paramref name="condition"/> completes.</summary>
    private static Task<T> DriveAsync<T>(ManualTimeProvider clock, Task<T> condition)
        => clock.RunUntilAsync(condition, cancellationToken: new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
}
