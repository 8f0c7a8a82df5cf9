using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Components.Benchmarks;

/// <summary>
/// Self-healing latency on a real runtime: a Running 3-replica deployment behind the in-process router, one instance
/// killed (SIGKILL of its process, or <c>docker kill</c>) per round, timed from the kill until a replacement is running
/// and in the router's route (ready: it takes requests). Prints every round, the median and the 90th percentile.
/// The process runtime wakes the healer on the process's exit; the Docker runtime has no event stream yet, so there the
/// periodic resync (1 s here, 30 s by default) is what notices the kill. Kills are separate incidents: the crash-loop
/// history resets after 1 ms, so no round waits for the back-off (10 s, 20 s, … with the defaults for kills in a row).
/// Usage: <c>dotnet run -c Release --project benchmarks/Bpi.Orchestration.Components.Benchmarks -- heal-latency processes|docker [rounds]</c>
/// </summary>
internal static class HealLatencyHarness
{
    public static async Task<int> RunAsync(string runtimeName, int rounds)
    {
        var docker = runtimeName switch
        {
            "docker" => true,
            "processes" or "process" => false,
            _ => throw new ArgumentException($"heal-latency runs on 'processes' or 'docker', not '{runtimeName}'."),
        };
        var vmId = "bpi-bench-heal-" + Guid.NewGuid().ToString("N")[..6];
        var stateDirectory = Path.Combine(Path.GetTempPath(), vmId);
        var services = new ServiceCollection();
        var builder = services.AddOrchestration(o =>
        {
            o.VmId = vmId;
            o.SelfHealing = true;
            o.HealingResyncInterval = docker ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(30);
            o.CrashLoopResetAfter = TimeSpan.FromMilliseconds(1);
        });
        if (docker)
        {
            builder.AddDocker(o => o.StopTimeout = TimeSpan.FromSeconds(2));
        }
        else
        {
            builder.AddProcessRuntime(o => o.StateDirectory = stateDirectory);
        }

        builder.AddInProcessRouter();
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var router = provider.GetRequiredService<InProcessTrafficRouter>();
        var runtime = provider.GetRequiredService<IWorkloadRuntime>();
        if (docker)
        {
            await BenchmarkEngine.BuildImageAsync(((DockerWorkloadRuntime)provider.GetRequiredService<IDockerWorkloadRuntime>()).Client);
        }

        await vm.StartAsync();
        string? id = null;
        var seconds = new List<double>();
        try
        {
            id = await vm.DeployAsync(Spec(docker));
            var settled = await vm.WaitUntilSettledAsync(id);
            if (settled.State != DeploymentState.Running)
            {
                throw new InvalidOperationException($"the deployment did not start: {settled.State} {settled.Message}");
            }

            var serviceId = TrafficRoute.ForComponent(id, "web");
            for (var round = 0; round < rounds; round++)
            {
                var before = await runtime.GetInstancesAsync(id);
                var victim = before.First(i => i.State == InstanceState.Running);
                var started = Stopwatch.GetTimestamp();
                if (docker)
                {
                    await ((DockerWorkloadRuntime)provider.GetRequiredService<IDockerWorkloadRuntime>()).Client.KillContainerAsync(victim.InstanceId, "SIGKILL");
                }
                else
                {
                    KillProcessOf(victim.InstanceId);
                }

                while (true)
                {
                    var now = await runtime.GetInstancesAsync(id);
                    var replacement = now.FirstOrDefault(i => i.State == InstanceState.Running && before.All(b => b.InstanceId != i.InstanceId));
                    if (replacement is not null && now.All(i => i.InstanceId != victim.InstanceId) && now.Count(i => i.State == InstanceState.Running) == 3
                        && router.GetStats(serviceId)?.Backends.Any(b => b.InRoute && b.Endpoint == replacement.Endpoint) == true)
                    {
                        break;
                    }

                    if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(2))
                    {
                        throw new TimeoutException($"round {round + 1}: no ready replacement after 2 minutes; instances: {string.Join(", ", now.Select(i => i.InstanceId + " " + i.State))}");
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(10));
                }

                var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
                seconds.Add(elapsed);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1,2}: killed {victim.InstanceId}, ready replacement after {elapsed:0.000} s"));
            }

            var sorted = seconds.Order().ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"heal-latency {runtimeName} ({rounds} kills of 1 of 3 replicas): kill → ready replacement in the route: median {Percentile(sorted, 0.5):0.000} s, p90 {Percentile(sorted, 0.9):0.000} s, min {sorted[0]:0.000} s, max {sorted[^1]:0.000} s"));
            return 0;
        }
        finally
        {
            if (id is not null)
            {
                await vm.DestroyAsync(id, force: true);
                await vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed);
            }

            await vm.StopAsync();
            if (!docker)
            {
                Directory.Delete(stateDirectory, recursive: true);
            }
        }
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static DeploymentSpec Spec(bool docker) => new()
    {
        Name = "heal",
        AppId = "bench",
        Environment = "bench",
        Components =
        [
            docker
                ? BenchmarkEngine.Revision("unused", 1).Component with
                {
                    Replicas = 3,
                    HealthCheck = new HealthCheckSpec { Kind = HealthCheckKind.Http, Path = "/health", Period = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) },
                }
                : new ComponentSpec
                {
                    Id = "web",
                    Command = new CommandSpec { FileName = SampleServiceDll },
                    Replicas = 3,
                    Ports = [new PortSpec { ContainerPort = 8080 }],
                    Environment = new Dictionary<string, string> { ["SAMPLE_VERSION"] = "1.0.0" },
                },
        ],
        Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(100), ProgressDeadline = TimeSpan.FromMinutes(2) },
    };

    private static string SampleServiceDll => typeof(HealLatencyHarness).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SampleServiceDll").Value!;

    /// <summary>SIGKILL to the process whose environment carries the instance's <c>BPI_INSTANCE_ID</c> (Linux <c>/proc</c>).</summary>
    private static void KillProcessOf(string instanceId)
    {
        var marker = Encoding.UTF8.GetBytes("BPI_INSTANCE_ID=" + instanceId + "\0");
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllBytes(Path.Combine(directory, "environ")).AsSpan().IndexOf(marker) >= 0)
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                    return;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
            }
        }

        throw new InvalidOperationException($"no process carries BPI_INSTANCE_ID={instanceId}");
    }
}
