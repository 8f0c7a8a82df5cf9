using System.Globalization;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;

namespace Bpi.Orchestration.Components.Tests.Processes;

/// <summary>
/// Autoscaling on real processes: CPU read from <c>/proc</c>, decisions applied as scale plans. Load is a busy loop that
/// runs while a flag file exists, so the test switches load on and off without generating any itself.
/// </summary>
public sealed class ProcessAutoscalingTests(ITestOutputHelper output)
{
    [Fact]
    public void Proc_stat_usage_is_read_after_the_command_name_and_checked_against_the_start_time()
    {
        // pid (comm with ') ' inside) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime prio nice threads itreal starttime vsize rss ...
        const string stat = "4242 (we) ird) R 1 4242 4242 0 -1 4194304 10 0 0 0 150 50 0 0 20 0 1 0 98765 1000000 300 18446744073709551615";

        Assert.Equal((200L, 300L * Environment.SystemPageSize), ProcessWorkloadRuntime.ParseUsage(stat, startTicks: 98765));
        Assert.Null(ProcessWorkloadRuntime.ParseUsage(stat, startTicks: 1)); // a recycled pid is someone else's
        Assert.Null(ProcessWorkloadRuntime.ParseUsage("4242 (x) R 1", startTicks: 98765));
    }

    [Fact]
    public async Task A_busy_process_component_scales_out_under_load_and_back_in_after_the_window()
    {
        Assert.True(OperatingSystem.IsLinux(), "the process runtime measures CPU through /proc");
        var vmId = "vm-autoscale-" + Guid.NewGuid().ToString("N")[..8];
        var stateDirectory = Path.Combine(Path.GetTempPath(), "bpi-orchestration-tests", vmId);
        Directory.CreateDirectory(stateDirectory);
        var flag = Path.Combine(stateDirectory, "load");
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = vmId;
                o.AutoscalingInterval = TimeSpan.FromSeconds(1);
            })
            .AddProcessRuntime(o => o.StateDirectory = stateDirectory);
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var runtime = provider.GetRequiredService<ProcessWorkloadRuntime>();
        await vm.StartAsync();
        string? id = null;
        try
        {
            // Busy while the flag exists (a shell arithmetic loop, checking the flag every 20 000 rounds), idle otherwise.
            var script = $"while :; do if [ -e '{flag}' ]; then i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; else sleep 0.2; fi; done";
            var spec = new DeploymentSpec
            {
                Name = "busy",
                AppId = "shop",
                Environment = "test",
                Components =
                [
                    new ComponentSpec
                    {
                        Id = "worker",
                        Command = new CommandSpec { FileName = "/bin/sh", Arguments = ["-c", script] },
                        Replicas = 1,
                        Resources = new ComponentResources { CpuCores = 0.2, MemoryMb = 64 },
                        Autoscaling = new AutoscalingSpec
                        {
                            MinReplicas = 1,
                            MaxReplicas = 2,
                            TargetCpuUtilizationPercent = 50,
                            ScaleDown = AutoscalingRules.DefaultScaleDown with { StabilizationWindow = TimeSpan.FromSeconds(5) },
                        },
                    },
                ],
                Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(100) },
            };

            id = await vm.DeployAsync(spec);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var deployed = await vm.WaitUntilSettledAsync(id, timeout.Token);
            Assert.True(deployed.State == DeploymentState.Running, $"{deployed.State}: {deployed.Message}");

            // Idle: the autoscaler measures (a few percent of the 0.2 core requested) and keeps one instance.
            var idle = await Eventually.UntilAsync(() => vm.GetStatusAsync(id), s => s.Autoscaling.Count == 1 && s.Autoscaling[0].Metrics.Count == 1, "an idle measurement");
            Assert.Equal(1, idle.Autoscaling[0].DesiredReplicas);
            Assert.True(idle.Autoscaling[0].Metrics[0].Value < 50, idle.Autoscaling[0].Reason);

            // Load: the loop burns up to a core, far above 50 % of 0.2 core: the component scales out to its maximum.
            var loadStarted = TimeProvider.System.GetTimestamp();
            await File.WriteAllTextAsync(flag, "on", timeout.Token);
            await Eventually.UntilAsync(
                async () => await runtime.GetInstancesAsync(id, "worker", 1),
                instances => instances.Count(i => i.State == InstanceState.Running) == 2,
                "a second running instance",
                TimeSpan.FromSeconds(60));
            var scaleOut = TimeProvider.System.GetElapsedTime(loadStarted);
            var scaled = await vm.GetStatusAsync(id);
            var decision = scaled.Autoscaling.Single();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scale-out: load start → second instance running in {scaleOut.TotalSeconds:0.00} s ({decision.Reason})"));

            // Load off: the next measurements are idle, and after the 5-second window the second instance goes.
            File.Delete(flag);
            var loadStopped = TimeProvider.System.GetTimestamp();
            await Eventually.UntilAsync(
                async () => await runtime.GetInstancesAsync(id, "worker", 1),
                instances => instances.Count == 1,
                "back to one instance",
                TimeSpan.FromSeconds(60));
            var scaleIn = TimeProvider.System.GetElapsedTime(loadStopped);
            var settled = await vm.WaitUntilSettledAsync(id, timeout.Token);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scale-in: load stop → one instance in {scaleIn.TotalSeconds:0.00} s ({settled.Autoscaling.Single().Reason})"));

            Assert.True(scaleOut < TimeSpan.FromSeconds(60), $"scaling out took {scaleOut} (the seed asks for < 60 s)");
            Assert.True(scaleIn >= TimeSpan.FromSeconds(5) - TimeSpan.FromSeconds(1), $"scaled in after {scaleIn}, before the 5-second window could pass");
            Assert.Equal(1, settled.Components[0].DesiredReplicas);
        }
        finally
        {
            if (File.Exists(flag))
            {
                File.Delete(flag);
            }

            if (id is not null)
            {
                await runtime.RemoveDeploymentAsync(id);
                await Eventually.UntilAsync(() => ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count == 0, "every process of the test to be gone", TimeSpan.FromSeconds(15));
            }

            await vm.StopAsync();
            Directory.Delete(stateDirectory, recursive: true);
        }
    }
}
