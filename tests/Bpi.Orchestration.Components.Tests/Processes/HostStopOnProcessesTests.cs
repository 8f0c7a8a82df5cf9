using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Processes;

/// <summary><see cref="OrchestrationOptions.OnHostStop"/> on local processes behind the in-process router.</summary>
public sealed class HostStopOnProcessesTests
{
    [Theory]
    [InlineData(HostStopAction.Destroy)]
    [InlineData(HostStopAction.StopWorkloads)]
    public async Task A_host_stop_with_a_shutdown_policy_leaves_no_process_running(HostStopAction action)
    {
        Assert.True(File.Exists(RuntimeScope.SampleServiceDll), "the sample service is built with the tests: " + RuntimeScope.SampleServiceDll);
        var vmId = "vm-hoststop-" + Guid.NewGuid().ToString("N")[..8];
        var stateDirectory = Path.Combine(Path.GetTempPath(), "bpi-orchestration-tests", vmId);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOrchestration(o =>
            {
                o.VmId = vmId;
                o.OnHostStop = action;
            })
            .AddProcessRuntime(o => o.StateDirectory = stateDirectory)
            .AddInProcessRouter();
        using var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await host.StartAsync(timeout.Token);
        var vm = host.Services.GetRequiredService<IOrchestrationVm>();
        var router = host.Services.GetRequiredService<InProcessTrafficRouter>();
        string? id = null;
        try
        {
            id = await vm.DeployAsync(new DeploymentSpec
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
                        Replicas = 2,
                        Ports = [new PortSpec { ContainerPort = 8080 }],
                    },
                ],
                Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(100) },
            }, timeout.Token);
            var status = await vm.WaitUntilSettledAsync(id, timeout.Token);
            Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message}");
            Assert.Equal(2, ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count);

            await host.StopAsync(timeout.Token);

            Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id));
            if (action == HostStopAction.Destroy)
            {
                // The destroy removed the route: the router no longer listens for the service.
                Assert.Null(router.GetEndpoint(TrafficRoute.ForComponent(id, "web")));
            }
        }
        finally
        {
            if (id is not null && ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count > 0)
            {
                await host.Services.GetRequiredService<IWorkloadRuntime>().RemoveDeploymentAsync(id);
            }

            await vm.StopAsync();
            Directory.Delete(stateDirectory, recursive: true);
        }
    }
}
