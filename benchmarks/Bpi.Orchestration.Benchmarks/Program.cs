using System.Globalization;
using BenchmarkDotNet.Running;
using Bpi.Orchestration;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;

if (args.Length > 0 && args[0] == "memory")
{
    // Documented harness: managed memory held by N concurrent deployments (all mid-rollout, waiting for instances
    // that are still starting on a manual clock). Usage: dotnet run -c Release -- memory [count]
    var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
    return await MemoryHarness.RunAsync(count);
}

if (args.Length > 0 && args[0] == "idle")
{
    // Documented harness: self-healing's CPU cost at idle. Usage: dotnet run -c Release -- idle [deployments] [rounds]
    return await IdleHealingHarness.RunAsync(
        args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000,
        args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20);
}

if (args.Length > 0 && args[0] == "idle-healing")
{
    // Documented harness: self-healing's CPU cost at idle on the real clock.
    // Usage: dotnet run -c Release -- idle-healing [deployments] [periods] [resync seconds]
    return await IdleHealingHarness.RunRealClockAsync(
        args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000,
        args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 6,
        TimeSpan.FromSeconds(args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 5));
}

if (args.Length > 0 && args[0] == "profile")
{
    // Documented harness: engine vs direct loop, interleaved. Usage: dotnet run -c Release -- profile [rounds]
    await ProfileHarness.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5000);
    return 0;
}
if (args.Length > 0 && args[0] == "allocs")
{
    // Documented harness: thread switches and the top allocated types of the engine's deploy + destroy.
    // Usage: dotnet run -c Release -- allocs [rounds]
    await AllocationHarness.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000);
    return 0;
}

if (args.Length > 0 && args[0] == "cpu")
{
    // Documented harness: engine vs direct loop by thread CPU time (robust on a busy machine).
    // Usage: dotnet run -c Release -- cpu [rounds per batch] [batches]
    return await CpuTimeHarness.RunAsync(
        args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000,
        args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 7);
}

if (args.Length > 0 && args[0] == "calls")
{
    // Documented harness: runtime calls per deployment (engine against the direct loop's 7). Usage: dotnet run -c Release -- calls [rounds]
    var bench = new Bpi.Orchestration.Benchmarks.RecreateDeploymentBenchmarks();
    bench.Setup();
    var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000;
    await bench.Engine();
    var before = bench.RuntimeCalls;
    for (var i = 0; i < rounds; i++)
    {
        await bench.Engine();
    }

    var engine = (bench.RuntimeCalls - before) / (double)rounds;
    before = bench.RuntimeCalls;
    for (var i = 0; i < rounds; i++)
    {
        await bench.DirectLoop();
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"runtime calls per deployment: engine {engine:0.00}, direct loop {(bench.RuntimeCalls - before) / (double)rounds:0.00}"));
    bench.Cleanup();
    return 0;
}

if (args.Length > 0 && args[0] == "loop")
{
    // For a profiler (dotnet-trace, perf): the engine's deploy + destroy alone, N times, or the direct loop's with
    // "direct" (to compare the collector's share). Usage: dotnet run -c Release -- loop [rounds] [direct]
    var bench = new Bpi.Orchestration.Benchmarks.RecreateDeploymentBenchmarks();
    bench.Setup();
    var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
    var direct = args.Length > 2 && args[2] == "direct";
    var watch = System.Diagnostics.Stopwatch.StartNew();
    for (var i = 0; i < rounds; i++)
    {
        // Blocking, as BenchmarkDotNet does: every round runs on the main thread (instructions.sh counts that thread),
        // even when one completes asynchronously (an await would move the rest of the loop to a pool thread).
        (direct ? bench.DirectLoop() : bench.Engine()).GetAwaiter().GetResult();
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(direct ? "direct" : "engine")}: {watch.Elapsed.TotalMicroseconds / rounds:0.0} us per deployment over {rounds} rounds; {GC.GetTotalAllocatedBytes() / rounds:N0} B each; GCs gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}; pause {GC.GetTotalPauseDuration().TotalMilliseconds:0} ms; heap held afterwards {GC.GetTotalMemory(forceFullCollection: true) / 1024.0 / 1024.0:0.0} MB"));
    bench.Cleanup();
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(Bpi.Orchestration.Benchmarks.RecreateDeploymentBenchmarks).Assembly).Run(args);
return 0;

internal static class MemoryHarness
{
    public static async Task<int> RunAsync(int count)
    {
        var clock = new ManualTimeProvider();
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = "vm-memory";
                o.MaxConcurrentDeployments = count;
            })
            .UseTimeProvider(clock)
            .AddInMemoryRuntime(o => o.StartDelay = TimeSpan.FromHours(1))
            .AddInMemoryTrafficRouter();
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        await vm.StartAsync();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = await vm.DeployAsync(new DeploymentSpec
            {
                Name = "app-" + i.ToString(CultureInfo.InvariantCulture),
                AppId = "memory",
                Components = [new ComponentSpec { Id = "web", Image = "web:1", Replicas = 3, Ports = [new PortSpec { ContainerPort = 8080 }] }],
            });
        }

        // Wait until every rollout is running its wait-for-ready step.
        await clock.WaitForTimersAsync(count * 4);
        var state = await vm.GetStateAsync();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var mb = (after - before) / (1024.0 * 1024.0);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count} deployments in flight ({state.RolloutsInProgress} rollouts, {state.ManagedInstances} instances): {mb:0.0} MB managed heap held ({(after - before) / count} bytes per deployment)"));
        GC.KeepAlive(ids);
        return mb < 100 ? 0 : 1;
    }
}
