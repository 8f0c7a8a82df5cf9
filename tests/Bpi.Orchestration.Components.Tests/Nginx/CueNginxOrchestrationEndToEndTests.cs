using Bpi.Orchestration.Components.Tests.Processes;
using Bpi.Orchestration.Nginx;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Components.Tests.Nginx;

public sealed class CueNginxOrchestrationEndToEndTests
{
    [SkippableFact]
    public async Task A_blue_green_update_of_sample_service_processes_switches_nginx_to_green_without_a_failed_request()
    {
        NginxTestEnvironment.RequireNginx();
        Assert.True(File.Exists(RuntimeScope.SampleServiceDll), "the sample service is built with the tests: " + RuntimeScope.SampleServiceDll);
        var vmId = "vm-ngx-" + Guid.NewGuid().ToString("N")[..8];
        var stateDirectory = Path.Combine(Path.GetTempPath(), "bpi-orchestration-tests", vmId);
        var nginxDirectory = NginxTestRouter.NewDirectory();
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = vmId)
            .AddProcessRuntime(o => o.StateDirectory = stateDirectory)
            .AddBlueGreenStrategy()
            .AddCueNginx(o =>
            {
                o.StateDirectory = nginxDirectory;
                o.StopOnDispose = true;
                o.DefaultService.HttpCage = new HttpCageOptions { SecurityLevel = HttpCageSecurityLevel.Low, RateLimiting = false }; // the load loop exceeds any preset rate
            });
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var router = provider.GetRequiredService<CueNginxRouter>();
        await vm.StartAsync();
        string? id = null;
        try
        {
            DeploymentSpec Spec(string version) => new()
            {
                Name = "sample",
                AppId = "shop",
                Environment = "test",
                Type = DeploymentType.HttpCage, // admitted: CueNginx routes with HttpCage on the default service
                Strategy = new BlueGreenStrategySpec { ScaleDownDelay = TimeSpan.Zero },
                Components =
                [
                    new ComponentSpec
                    {
                        Id = "web",
                        Command = new CommandSpec { FileName = RuntimeScope.SampleServiceDll },
                        Replicas = 2,
                        Ports = [new PortSpec { ContainerPort = 8080 }],
                        Environment = new Dictionary<string, string> { ["SAMPLE_VERSION"] = version },
                    },
                ],
                Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(100) },
            };

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
            id = await vm.DeployAsync(Spec("1.0.0"), timeout.Token);
            var status = await vm.WaitUntilSettledAsync(id, timeout.Token);
            Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message}");
            var endpoint = router.GetEndpoint(TrafficRoute.ForComponent(id, "web"))!;
            Assert.NotNull(endpoint);
            using var client = NginxHttp.NewConnectionPerRequest();

            async Task<string> VersionAsync()
            {
                using var response = await client.GetAsync($"http://{endpoint}/version", timeout.Token);
                response.EnsureSuccessStatusCode();
                Assert.Equal(["nosniff"], response.Headers.GetValues("X-Content-Type-Options")); // through HttpCage
                return (await response.Content.ReadAsStringAsync(timeout.Token)).Trim().Split(' ')[0];
            }

            Assert.Equal("1.0.0", await VersionAsync());

            // A client keeps calling through nginx while the update runs; every call must succeed.
            var failures = new List<string>();
            var versions = new List<string>();
            using var stopLoad = new CancellationTokenSource();
            var load = Task.Run(async () =>
            {
                while (!stopLoad.IsCancellationRequested)
                {
                    try
                    {
                        versions.Add(await VersionAsync());
                    }
                    catch (HttpRequestException ex)
                    {
                        failures.Add(ex.Message);
                    }
                }
            });

            await vm.UpdateAsync(id, Spec("2.0.0"), timeout.Token);
            status = await vm.WaitUntilSettledAsync(id, timeout.Token);
            await stopLoad.CancelAsync();
            await load;

            Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message}");
            Assert.Empty(failures);
            Assert.Contains("1.0.0", versions);
            Assert.Equal("2.0.0", versions[^1]);
            Assert.Equal("2.0.0", await VersionAsync());
            Assert.Equal(endpoint, router.GetEndpoint(TrafficRoute.ForComponent(id, "web")));

            await vm.DestroyAsync(id, cancellationToken: timeout.Token);
            await vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, timeout.Token);
            Assert.Null(router.GetEndpoint(TrafficRoute.ForComponent(id, "web")));
        }
        finally
        {
            if (id is not null && ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count > 0)
            {
                await provider.GetRequiredService<Runtime.IWorkloadRuntime>().RemoveDeploymentAsync(id);
            }

            await vm.StopAsync();
            await router.DisposeAsync();
            Directory.Delete(stateDirectory, recursive: true);
            Directory.Delete(nginxDirectory, recursive: true);
        }
    }
}
