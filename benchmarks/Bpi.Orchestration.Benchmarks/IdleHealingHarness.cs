using System.Diagnostics;
using System.Globalization;
using Bpi.Orchestration;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

/// <summary>
/// Documented harness (<c>dotnet run -c Release -- idle [deployments] [rounds]</c>): the self-healing reconciler's CPU cost
/// at idle. N Running deployments on the in-memory runtime with a manual clock; then (1) a wall-clock idle window with
/// the clock still, where nothing should run, and (2) <c>rounds</c> resync rounds (the clock advanced by
/// <see cref="OrchestrationOptions.HealingResyncInterval"/>, every deployment compared with the runtime once, nothing to
/// repair). Prints the process CPU time of each, per round and per deployment, and what the default 30 s resync costs
/// per second of real time.
/// </summary>
internal static class IdleHealingHarness
{
    public static async Task<int> RunAsync(int count, int rounds)
    {
        var clock = new ManualTimeProvider();
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = "vm-idle";
                o.MaxConcurrentDeployments = 64;
                o.SelfHealing = true; // the default; named because the harness measures it
            })
            .UseTimeProvider(clock)
            .AddInMemoryRuntime()
            .AddInMemoryTrafficRouter();
        services.TryAddSingleton(sp => new CountingRuntime(sp.GetRequiredService<InMemoryWorkloadRuntime>()));
        services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp => sp.GetRequiredService<CountingRuntime>()));
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var counting = provider.GetRequiredService<CountingRuntime>();
        var options = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<OrchestrationOptions>>().Value;
        await vm.StartAsync();

        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = await vm.DeployAsync(new DeploymentSpec
            {
                Name = "app-" + i.ToString(CultureInfo.InvariantCulture),
                AppId = "idle",
                Components = [new ComponentSpec { Id = "web", Image = "web:1", Replicas = 3, Ports = [new PortSpec { ContainerPort = 8080 }] }],
            });
        }

        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        foreach (var id in ids)
        {
            await vm.WaitForStateAsync(id, s => s == DeploymentState.Running, guard.Token);
        }

        // Let the passes woken by the rollouts' ends finish.
        await WaitQuietAsync(counting, guard.Token);

        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(5));
        process.Refresh();
        var idleCpu = process.TotalProcessorTime - cpu0;
        var idleWall = wall.Elapsed;

        process.Refresh();
        var cpu1 = process.TotalProcessorTime;
        wall.Restart();
        for (var r = 0; r < rounds; r++)
        {
            var before = counting.Reads;
            clock.Advance(options.HealingResyncInterval);
            while (counting.Reads - before < count)
            {
                guard.Token.ThrowIfCancellationRequested();
                await Task.Yield();
            }
        }

        process.Refresh();
        var roundsCpu = process.TotalProcessorTime - cpu1;
        var roundsWall = wall.Elapsed;
        // A second still window after the rounds: the first one also holds the JIT's and GC's work left by the deploys.
        process.Refresh();
        var cpu2 = process.TotalProcessorTime;
        wall.Restart();
        await Task.Delay(TimeSpan.FromSeconds(5));
        process.Refresh();
        var stillCpu = process.TotalProcessorTime - cpu2;
        var stillWall = wall.Elapsed;
        var perRound = roundsCpu / rounds;
        var perSecond = perRound.TotalMilliseconds / options.HealingResyncInterval.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count} Running deployments on the in-memory runtime (self-healing on, resync every {options.HealingResyncInterval.TotalSeconds:0} s)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"clock still, right after the deploys: {idleCpu.TotalMilliseconds:0} ms CPU in {idleWall.TotalSeconds:0.0} s of wall time ({idleCpu.TotalMilliseconds / idleWall.TotalSeconds:0.0} ms CPU per second)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"clock still, after the rounds: {stillCpu.TotalMilliseconds:0} ms CPU in {stillWall.TotalSeconds:0.0} s ({stillCpu.TotalMilliseconds / stillWall.TotalSeconds:0.0} ms CPU per second)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resync: {perRound.TotalMilliseconds:0.0} ms CPU per round of {count} passes ({perRound.TotalMicroseconds / count:0.0} us per deployment), {rounds} rounds in {roundsWall.TotalSeconds:0.00} s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"at the default resync interval: {perSecond:0.00} ms CPU per second of real time ({perSecond / 10:0.000} % of one core)"));
        return 0;
    }

    /// <summary>
    /// Documented harness (<c>dotnet run -c Release -- idle-healing [deployments] [periods] [resync seconds]</c>): the
    /// same N Running deployments on the <b>real</b> clock, with the resync every <c>resync seconds</c> (default 5 s, so a
    /// run is short; the cost per pass does not depend on the interval). After the deploys settle, measures the process
    /// CPU time over <c>periods</c> whole resync periods of wall time, counts the passes that ran (one runtime read each),
    /// and prints CPU ms per second of wall time, per deployment-pass, and what that means at the default 30 s resync.
    /// Timers, thread-pool wakes and the passes are all real here, unlike <see cref="RunAsync"/>'s manual clock.
    /// </summary>
    public static async Task<int> RunRealClockAsync(int count, int periods, TimeSpan resync)
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = "vm-idle-real";
                o.MaxConcurrentDeployments = 64;
                o.SelfHealing = true;
                o.HealingResyncInterval = resync;
            })
            .AddInMemoryRuntime()
            .AddInMemoryTrafficRouter();
        services.TryAddSingleton(sp => new CountingRuntime(sp.GetRequiredService<InMemoryWorkloadRuntime>()));
        services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp => sp.GetRequiredService<CountingRuntime>()));
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var counting = provider.GetRequiredService<CountingRuntime>();
        await vm.StartAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var deploying = Stopwatch.StartNew();
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = await vm.DeployAsync(new DeploymentSpec
            {
                Name = "app-" + i.ToString(CultureInfo.InvariantCulture),
                AppId = "idle",
                Components = [new ComponentSpec { Id = "web", Image = "web:1", Replicas = 3, Ports = [new PortSpec { ContainerPort = 8080 }] }],
            }, guard.Token);
        }

        foreach (var id in ids)
        {
            await vm.WaitForStateAsync(id, s => s == DeploymentState.Running, guard.Token);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{count} deployments Running in {deploying.Elapsed.TotalSeconds:0.0} s; settling for one resync period"));

        // One whole period so the passes woken by the rollouts' ends and the JIT's work are behind the measurement.
        await Task.Delay(resync, guard.Token);
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        var reads0 = counting.Reads;
        var wall = Stopwatch.StartNew();
        await Task.Delay(resync * periods, guard.Token);
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpu0;
        var elapsed = wall.Elapsed;
        var passes = counting.Reads - reads0;
        var perSecond = cpu.TotalMilliseconds / elapsed.TotalSeconds;
        var perPass = passes > 0 ? cpu.TotalMicroseconds / passes : double.NaN;
        var atDefault = perPass * count / 30.0 / 1000.0; // ms CPU per second with one pass per deployment every 30 s
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"real clock, resync every {resync.TotalSeconds:0.###} s: {cpu.TotalMilliseconds:0} ms CPU in {elapsed.TotalSeconds:0.0} s of wall time over {periods} periods, {passes} deployment-passes ({passes / (double)periods / count:0.00} per deployment per period)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {perSecond:0.00} ms CPU per second ({perSecond / 10:0.000} % of one core); {perPass:0.0} us CPU per deployment-pass (whole process: timers, GC and the idle runtime included)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  at the default 30 s resync that is {atDefault:0.00} ms CPU per second for {count} deployments ({atDefault / 10:0.000} % of one core)"));
        if (passes < (long)count * periods * 9 / 10)
        {
            Console.Error.WriteLine($"error: only {passes} passes ran in {periods} periods of {count} deployments: the resync did not wake every healer");
            return 1;
        }

        return 0;
    }

    private static async Task WaitQuietAsync(CountingRuntime counting, CancellationToken cancellationToken)
    {
        var last = -1L;
        while (counting.Reads != last)
        {
            last = counting.Reads;
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>The in-memory runtime, counting the reads a healing pass makes (one per deployment per pass).</summary>
    private sealed class CountingRuntime(InMemoryWorkloadRuntime inner) : IWorkloadRuntime
    {
        private long _reads;

        public long Reads => Interlocked.Read(ref _reads);

        public string Name => inner.Name;

        public ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default) => inner.EnsureReplicasAsync(revision, replicas, cancellationToken);

        public ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            return inner.GetInstancesAsync(deploymentId, componentId, revision, cancellationToken);
        }

        public ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default) => inner.RemoveDeploymentAsync(deploymentId, cancellationToken);

        public ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default) => inner.ListOwnedAsync(cancellationToken);

        public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default) => inner.GetLogTailAsync(instanceId, lines, cancellationToken);
    }
}
