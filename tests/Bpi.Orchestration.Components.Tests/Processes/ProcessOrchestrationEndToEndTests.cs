using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Processes;

public sealed class ProcessOrchestrationEndToEndTests
{
    [Fact]
    public async Task An_orchestrator_deploys_three_sample_service_processes_behind_the_in_process_router_and_destroy_leaves_none()
    {
        Assert.True(File.Exists(RuntimeScope.SampleServiceDll), "the sample service is built with the tests: " + RuntimeScope.SampleServiceDll);
        var vmId = "vm-e2e-" + Guid.NewGuid().ToString("N")[..8];
        var stateDirectory = Path.Combine(Path.GetTempPath(), "bpi-orchestration-tests", vmId);
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = vmId)
            .AddProcessRuntime(o => o.StateDirectory = stateDirectory)
            .AddInProcessRouter();
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var router = provider.GetRequiredService<InProcessTrafficRouter>();
        Assert.IsType<ProcessWorkloadRuntime>(provider.GetRequiredService<IWorkloadRuntime>());
        Assert.Same(router, provider.GetRequiredService<ITrafficRouter>());
        await vm.StartAsync();
        string? id = null;
        try
        {
            var spec = new DeploymentSpec
            {
                Name = "sample",
                AppId = "shop",
                Environment = "test",
                Components =
                [
                    new ComponentSpec
                    {
                        Id = "web",
                        Command = new CommandSpec { FileName = RuntimeScope.SampleServiceDll },
                        Replicas = 3,
                        Ports = [new PortSpec { ContainerPort = 8080 }],
                        Environment = new Dictionary<string, string> { ["SAMPLE_VERSION"] = "1.2.3" },
                    },
                ],
                Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(100) },
            };

            id = await vm.DeployAsync(spec);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var status = await vm.WaitUntilSettledAsync(id, timeout.Token);
            Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message}");

            var endpoint = router.GetEndpoint(TrafficRoute.ForComponent(id, "web"));
            Assert.NotNull(endpoint);
            using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero });
            var answers = new List<string>();
            for (var i = 0; i < 30; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{endpoint}/version");
                request.Headers.ConnectionClose = true;
                using var response = await client.SendAsync(request, timeout.Token);
                response.EnsureSuccessStatusCode();
                answers.Add((await response.Content.ReadAsStringAsync(timeout.Token)).Trim());
            }

            var instances = await provider.GetRequiredService<ProcessWorkloadRuntime>().GetInstancesAsync(id);
            Assert.Equal(3, instances.Count(i => i.State == InstanceState.Running));
            Assert.All(answers, a => Assert.StartsWith("1.2.3 ", a, StringComparison.Ordinal));
            Assert.Equal(instances.Select(i => i.InstanceId).Order(), answers.Select(a => a["1.2.3 ".Length..]).Distinct().Order());
            var stats = router.GetStats(TrafficRoute.ForComponent(id, "web"))!;
            Assert.Equal(30, stats.ConnectionsTo(1));
            Assert.All(stats.Backends, b => Assert.Equal(10, b.Connections));
            Assert.Equal(3, ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count);

            await vm.DestroyAsync(id, cancellationToken: timeout.Token);
            var destroyed = await vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, timeout.Token);

            Assert.Equal(DeploymentState.Destroyed, destroyed.State);
            Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id));
            Assert.Null(router.GetEndpoint(TrafficRoute.ForComponent(id, "web")));
        }
        finally
        {
            if (id is not null && ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count > 0)
            {
                await provider.GetRequiredService<IWorkloadRuntime>().RemoveDeploymentAsync(id);
            }

            await vm.StopAsync();
            Directory.Delete(stateDirectory, recursive: true);
        }
    }
}
