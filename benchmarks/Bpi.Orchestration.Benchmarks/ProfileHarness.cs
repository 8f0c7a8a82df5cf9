using System.Diagnostics;
using Bpi.Orchestration;
using Microsoft.Extensions.DependencyInjection;

internal static class ProfileHarness
{
    public static async Task RunAsync()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "vm-p").AddInMemoryRuntime().AddInMemoryTrafficRouter();
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        await vm.StartAsync();
        var spec = new DeploymentSpec { Name = "p", AppId = "p", Components = [new ComponentSpec { Id = "web", Image = "w:1", Replicas = 5, Ports = [new PortSpec { ContainerPort = 80 }] }] };
        long tDeploy = 0, tSettle = 0, tDestroy = 0; var n = 5000; long alloc0 = 0;
        for (var i = 0; i < n + 500; i++)
        {
            var a = Stopwatch.GetTimestamp();
            var id = await vm.DeployAsync(spec);
            var b = Stopwatch.GetTimestamp();
            await vm.WaitUntilSettledAsync(id);
            var c = Stopwatch.GetTimestamp();
            await vm.DestroyAsync(id);
            var d = Stopwatch.GetTimestamp();
            if (i == 499) alloc0 = GC.GetTotalAllocatedBytes(true);
            if (i >= 500) { tDeploy += b - a; tSettle += c - b; tDestroy += d - c; }
        }
        double us(long t) => t * 1e6 / Stopwatch.Frequency / n;
        Console.WriteLine($"allocated {(GC.GetTotalAllocatedBytes(true) - alloc0) / n} B/op");
        Console.WriteLine($"deploy {us(tDeploy):0.0} us, settle {us(tSettle):0.0} us, destroy {us(tDestroy):0.0} us");
    }
}
