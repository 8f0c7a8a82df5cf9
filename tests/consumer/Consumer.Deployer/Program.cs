// A consumer's deployer as a Generic Host: deploys "web" v1 on the in-memory runtime, rolls v2 out as a canary, and
// stops the host, whose shutdown policy destroys what it deployed. Exits 0 only when every expectation held.
using Bpi.Orchestration;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.Traffic;
using Consumer.Deployer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddOrchestration(o =>
    {
        o.VmId = "consumer-deployer";
        o.OnHostStop = HostStopAction.Destroy;
    })
    .AddInMemoryRuntime()
    .AddInMemoryTrafficRouter()
    .AddStrategies();

using var host = builder.Build();
await host.StartAsync();
var vm = host.Services.GetRequiredService<IOrchestrationVm>();
var runtime = host.Services.GetRequiredService<InMemoryWorkloadRuntime>();
var router = host.Services.GetRequiredService<InMemoryTrafficRouter>();
using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

var id = await vm.DeployAsync(ServicePolicy.Canary("consumer-web:1", TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50)), timeout.Token);
var status = await vm.WaitUntilSettledAsync(id, timeout.Token);
Expect(status.State == DeploymentState.Running, $"v1 is running ({status})");

await vm.UpdateAsync(id, ServicePolicy.Canary("consumer-web:2", TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50)), timeout.Token);
status = await vm.WaitUntilSettledAsync(id, timeout.Token);
Expect(status.State == DeploymentState.Running && status.StableRevision == 2, $"the v2 canary is promoted ({status})");
var weights = router.GetWeights(TrafficRoute.ForComponent(id, "web"));
Expect(weights.Count == 1 && weights.GetValueOrDefault(2) == 100, $"v2 takes all traffic ({string.Join(", ", weights)})");
Console.WriteLine($"deployed and promoted: {status}");

await host.StopAsync(timeout.Token);
Expect(runtime.Snapshot().Count == 0, $"nothing is left running after the host stopped ({runtime.Snapshot().Count} instances)");
Console.WriteLine("host stopped; its deployments were destroyed");
return 0;

static void Expect(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException("Expected: " + what);
    }
}
