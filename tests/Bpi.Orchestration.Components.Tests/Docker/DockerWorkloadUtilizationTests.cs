using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Tests.Docker;

/// <summary>Utilisation from Docker's stats endpoint, for autoscaling: a busy container uses CPU, an idle one almost none.</summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerWorkloadUtilizationTests(DockerEngineFixture fixture)
{
    [SkippableFact]
    public async Task A_busy_container_reports_cpu_and_an_idle_one_almost_none_with_their_memory()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var deploymentId = "autoscale-" + Guid.NewGuid().ToString("N")[..8];
        var busy = fixture.Revision(DockerEngineFixture.HttpComponent("busy") with { Command = new CommandSpec { FileName = "/bin/sh", Arguments = ["-c", "while :; do :; done"] }, Ports = [], Resources = new ComponentResources { CpuCores = 1, MemoryMb = 32 } }, deploymentId: deploymentId);
        var idle = fixture.Revision(DockerEngineFixture.HttpComponent("idle") with { Command = new CommandSpec { FileName = "/bin/sh", Arguments = ["-c", "sleep 300"] }, Ports = [] }, deploymentId: deploymentId);
        try
        {
            await runtime.EnsureReplicasAsync(busy, 1);
            await runtime.EnsureReplicasAsync(idle, 1);
            var measure = (IWorkloadUtilization)runtime;

            // The busy loop gets its CPU share (at least a fifth of a core even on a crowded machine).
            var hot = await Eventually.UntilAsync(
                async () => await measure.GetUtilizationAsync(deploymentId, "busy", 1),
                u => u.Count == 1 && u[0].CpuCores > 0.2,
                "the busy container's CPU");
            Assert.Equal((await runtime.GetInstancesAsync(deploymentId, "busy", 1)).Single().InstanceId, hot[0].InstanceId);
            Assert.True(hot[0].MemoryBytes > 0);

            var cold = Assert.Single(await measure.GetUtilizationAsync(deploymentId, "idle", 1));
            Assert.True(cold.CpuCores < 0.05, $"an idle container used {cold.CpuCores} cores");
            Assert.True(cold.MemoryBytes is > 0 and < 64L * 1024 * 1024, $"memory {cold.MemoryBytes}");

            Assert.Empty(await measure.GetUtilizationAsync(deploymentId, "busy", 2));
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(deploymentId);
        }
    }
}
