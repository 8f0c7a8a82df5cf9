using Bpi.Orchestration;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Routing.Benchmarks;

/// <summary>
/// The encrypted path as a deployment of type EncCluster gets it, through public API only: the in-process router in
/// front of one member whose connection goes through the EncCluster proxies (plain listener → mutual TLS 1.3 with
/// TLS_AES_256_GCM_SHA384 → member TLS listener → the backend). The "member" is the benchmark's backend, reported by a
/// runtime that runs nothing (the benchmark starts the backend itself).
/// </summary>
internal static class EncClusterTarget
{
    public static async Task<int> RunAsync(int port, int backendPort)
    {
        var services = new ServiceCollection();
        var builder = services.AddOrchestration(o => o.VmId = "bench-enc");
        services.AddSingleton<IWorkloadRuntime>(new ExistingBackendRuntime(new ServiceEndpoint("127.0.0.1", backendPort)));
        builder.AddEncCluster();
        await using var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<IWorkloadRuntime>();
        var revision = new WorkloadRevision
        {
            OwnerId = "bench-enc",
            DeploymentId = "bench",
            DeploymentName = "bench",
            AppId = "bench",
            Environment = "bench",
            Revision = 1,
            Component = new ComponentSpec { Id = "backend", Image = "none", Replicas = 1, Ports = [new PortSpec { ContainerPort = backendPort }] },
            EncCluster = new EncClusterSpec { ClusterSize = 1 },
        };
        await runtime.EnsureReplicasAsync(revision, 1);
        var member = (await runtime.GetInstancesAsync("bench")).Single().Endpoint!;

        await using var router = new InProcessTrafficRouter();
        await router.ApplyAsync(new TrafficRoute("bench/enc", [new TrafficBackend(1, 100, [member])]) { ListenPort = port });
        Console.WriteLine("ready");
        await Console.In.ReadToEndAsync();
        await runtime.RemoveDeploymentAsync("bench");
        return 0;
    }

    /// <summary>Reports the already running backend as the revision's one instance.</summary>
    private sealed class ExistingBackendRuntime(ServiceEndpoint backend) : IWorkloadRuntime
    {
        private int _replicas;

        public string Name => "process";

        public ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
        {
            _replicas = replicas;
            return ValueTask.CompletedTask;
        }

        public ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
            => new(_replicas == 0 ? [] : [new WorkloadInstance { InstanceId = "backend", DeploymentId = deploymentId, ComponentId = "backend", Revision = 1, State = InstanceState.Running, Endpoints = [backend] }]);

        public ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
        {
            _replicas = 0;
            return ValueTask.CompletedTask;
        }

        public ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default) => GetInstancesAsync("bench", cancellationToken: cancellationToken);

        public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default) => new([]);
    }
}
