// The README's quick start, kept compiling here. It deploys on the in-memory runtime, so it needs nothing but the
// .NET SDK: revision 1 comes up, revision 2 replaces it, and a broken revision 3 is rolled back automatically.
using Bpi.Orchestration;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;

var services = new ServiceCollection();
services.AddOrchestration(o => o.MaxConcurrentDeployments = 4)
        .AddInMemoryRuntime()
        .AddInMemoryTrafficRouter();
await using var provider = services.BuildServiceProvider();
var vm = provider.GetRequiredService<IOrchestrationVm>();
var runtime = provider.GetRequiredService<InMemoryWorkloadRuntime>();

DeploymentSpec Web(string image) => new()
{
    Name = "web",
    AppId = "shop",
    Environment = "staging",
    Components =
    [
        new ComponentSpec
        {
            Id = "web",
            Image = image,
            Replicas = 3,
            Resources = new ComponentResources { CpuCores = 0.5, MemoryMb = 256 },
            Ports = [new PortSpec { ContainerPort = 8080 }],
        },
    ],
};

using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
var watch = Task.Run(async () =>
{
    await foreach (var e in vm.WatchAsync(cancellationToken: timeout.Token))
    {
        Console.WriteLine($"  [{e.Sequence,3}] {e.Kind,-15} {e.State,-11} {e.Message}");
    }
});

Console.WriteLine("The plan for revision 1 (a dry run):");
Console.WriteLine((await vm.PlanAsync(Web("shop/web:1"))).Describe());

Console.WriteLine("Deploying revision 1:");
var id = await vm.DeployAsync(Web("shop/web:1"));
var status = await vm.WaitUntilSettledAsync(id, timeout.Token);
Console.WriteLine($"=> {status.State}, revision {status.StableRevision}, {status.Components[0].Instances.Sum(i => i.Running)} running");

Console.WriteLine("Updating to revision 2:");
await vm.UpdateAsync(id, Web("shop/web:2"));
status = await vm.WaitUntilSettledAsync(id, timeout.Token);
Console.WriteLine($"=> {status.State}, revision {status.StableRevision}");

Console.WriteLine("Updating to a broken revision 3 (its instances exit at start):");
runtime.Faults.FailStart(r => r.Component.Image == "shop/web:3", exitCode: 2, message: "missing configuration", "fatal: DATABASE_URL is not set");
await vm.UpdateAsync(id, Web("shop/web:3"));
status = await vm.WaitUntilSettledAsync(id, timeout.Token);
Console.WriteLine($"=> {status.State}, revision {status.StableRevision} keeps serving. Reason:{Environment.NewLine}{status.Message}");

await vm.DestroyAsync(id);
Console.WriteLine($"Destroyed; instances left: {runtime.Snapshot().Count}");
await timeout.CancelAsync();
await watch;

var ok = status.State == DeploymentState.RolledBack && status.StableRevision == 2 && runtime.Snapshot().Count == 0;
return ok ? 0 : 1;
