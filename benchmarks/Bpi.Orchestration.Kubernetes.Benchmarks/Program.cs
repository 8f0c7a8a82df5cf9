// Per-step overhead of the Kubernetes runtime against direct KubernetesClient calls doing the same work, both against the
// in-process API emulator (real HTTP on loopback), one process.
//
//   dotnet run -c Release --project benchmarks/Bpi.Orchestration.Kubernetes.Benchmarks -- [--steps 300] [--rounds 4] [--smoke]
//
// Steps of the two variants are interleaved (order alternating). One step is what a rollout's ScaleRevision + AwaitReady do to one revision: scale its Deployment (2 <-> 3 replicas,
// alternating, so the emulator's controller creates or deletes a pod every step) and read its instances until every
// one runs. Runtime: IWorkloadRuntime.EnsureReplicasAsync then GetInstancesAsync (served from its watch-fed caches,
// re-read until the pods' watch has delivered the change) — through AddKubernetes, as a host wires it. Direct: what a
// hand-written client does for the same step with the official client — read the Deployment, replace it with the new
// replica count, then list the revision's pods and read the Deployment's status (the emulator's controller runs inside
// each write, so one read after the write sees the result). Both variants created their namespace, Services and first
// Deployment before timing. Reported: mean, p50 and p99 per step (and of its scaling part), and the runtime's mean and
// median over the direct ones (target <= 1.2; the run fails when the mean ratio is over). --smoke runs a few steps and checks only that both variants work.
using System.Diagnostics;
using System.Globalization;
using Bpi.Orchestration;
using Bpi.Orchestration.Kubernetes.Emulator;
using Bpi.Orchestration.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;

var smoke = args.Contains("--smoke");
var steps = smoke ? 10 : Int(args, "--steps", 300);
var rounds = smoke ? 1 : Int(args, "--rounds", 4);

await using var emulator = await KubernetesEmulator.StartAsync();
var kubeconfig = Path.Combine(Path.GetTempPath(), "bpi-k8s-bench-" + Guid.NewGuid().ToString("N")[..8] + ".kubeconfig");
emulator.WriteKubeconfig(kubeconfig);
try
{
    var services = new ServiceCollection();
    services.AddOrchestration(o => o.VmId = "bench").AddKubernetes(o => o.KubeconfigPath = kubeconfig);
    await using var provider = services.BuildServiceProvider();
    var runtime = provider.GetRequiredService<IWorkloadRuntime>();
    using var client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));

    var revision = new WorkloadRevision
    {
        OwnerId = "bench", DeploymentId = "rt", DeploymentName = "web", AppId = "bench", Environment = "bench", Revision = 1,
        Component = new ComponentSpec { Id = "web", Image = "web:1", Replicas = 2, Ports = [new PortSpec { ContainerPort = 8080 }], Resources = new ComponentResources { CpuCores = 0.1, MemoryMb = 64 } },
    };
    var direct = await DirectStep.SetUpAsync(client, runtime, revision);
    var rereads = 0;
    var scaleTimes = new List<double>();
    async Task RuntimeStep(int replicas)
    {
        var t0 = Stopwatch.GetTimestamp();
        await runtime.EnsureReplicasAsync(revision, replicas);
        scaleTimes.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        while ((await runtime.GetInstancesAsync("rt", "web", 1)).Count(i => i.State == InstanceState.Running) != replicas)
        {
            // The pods' watch has not delivered the controller's pods yet: wait for it (counted and reported).
            rereads++;
            await Task.Delay(TimeSpan.FromMilliseconds(1));
        }
    }

    await runtime.EnsureReplicasAsync(revision, 2);
    for (var i = 0; i < 20; i++)
    {
        // Warm up both paths (JIT, connections, caches).
        await RuntimeStep(2 + (i % 2));
        await direct.StepAsync(2 + (i % 2));
    }

    var runtimeTimes = new List<double>();
    var directTimes = new List<double>();
    rereads = 0;
    scaleTimes.Clear();
    direct.ScaleTimes.Clear();
    for (var round = 0; round < rounds; round++)
    {
        for (var i = 0; i < steps; i++)
        {
            // Interleaved step by step, the order alternating, so drift on a shared machine falls on both variants alike.
            var replicas = 2 + (i % 2 == 0 ? 1 : 0);
            foreach (var variant in (i + round) % 2 == 0 ? new[] { "runtime", "direct" } : new[] { "direct", "runtime" })
            {
                var started = Stopwatch.GetTimestamp();
                if (variant == "runtime")
                {
                    await RuntimeStep(replicas);
                    runtimeTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                else
                {
                    await direct.StepAsync(replicas);
                    directTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
        }
    }

    var ratio = runtimeTimes.Average() / directTimes.Average();
    var medianRatio = Median(runtimeTimes) / Median(directTimes);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"steps: {runtimeTimes.Count} per variant ({rounds} round(s) of {steps}), emulator at {emulator.Url}"));
    Console.WriteLine(Describe("direct KubernetesClient", directTimes));
    Console.WriteLine(Describe("Kubernetes runtime     ", runtimeTimes));
    Console.WriteLine(Describe("  of which scaling, direct ", direct.ScaleTimes));
    Console.WriteLine(Describe("  of which scaling, runtime", scaleTimes));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"runtime / direct per step: mean {ratio:0.00}x, median {medianRatio:0.00}x (target <= 1.20); runtime re-reads waiting for the pods' watch: {rereads}"));
    await runtime.RemoveDeploymentAsync("rt");
    if (!smoke && ratio > 1.2)
    {
        Console.WriteLine("over target");
        return 1;
    }

    return 0;
}
finally
{
    File.Delete(kubeconfig);
}

static string Describe(string name, List<double> times)
{
    var sorted = times.Order().ToList();
    return string.Create(CultureInfo.InvariantCulture, $"{name}: mean {times.Average():0.000} ms, p50 {sorted[sorted.Count / 2]:0.000} ms, p99 {sorted[(int)(sorted.Count * 0.99)]:0.000} ms");
}

static double Median(List<double> times) => times.Order().ElementAt(times.Count / 2);

static int Int(string[] args, string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : fallback;
}

/// <summary>The same step with the official client alone, on a Deployment the runtime created for it (same object, another name).</summary>
internal sealed class DirectStep(Kubernetes client, string ns, string name, string selector)
{
    public static async Task<DirectStep> SetUpAsync(Kubernetes client, IWorkloadRuntime runtime, WorkloadRevision template)
    {
        // Let the runtime write the objects (namespace, Services, Deployment) once, so both variants scale identical objects.
        var revision = template with { DeploymentId = "direct" };
        await runtime.EnsureReplicasAsync(revision, 2);
        return new DirectStep(client, "bpi-bench", "direct-web-r1", "bpi.orchestration/deployment=direct,bpi.orchestration/component=web,bpi.orchestration/revision=1");
    }

    public List<double> ScaleTimes { get; } = [];

    public async Task StepAsync(int replicas)
    {
        var t0 = Stopwatch.GetTimestamp();
        var deployment = await client.AppsV1.ReadNamespacedDeploymentAsync(name, ns);
        deployment.Spec.Replicas = replicas;
        await client.AppsV1.ReplaceNamespacedDeploymentAsync(deployment, name, ns);
        ScaleTimes.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        var pods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector);
        var status = await client.AppsV1.ReadNamespacedDeploymentAsync(name, ns);
        var ready = pods.Items.Count(p => p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true);
        if (ready != replicas || status.Status?.ObservedGeneration < status.Metadata.Generation)
        {
            throw new InvalidOperationException($"direct step: {ready} ready pods of {replicas}");
        }
    }
}
