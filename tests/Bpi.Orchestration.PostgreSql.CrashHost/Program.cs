// One orchestrator instance of several on one PostgreSQL database, for the multi-instance crash tests. It runs the
// orchestrator with AddPostgreSqlState (leases, fencing, take-over, one audit chain) on a runtime every instance shares
// (SharedTableRuntime: tables in the test's database, with every runtime call logged), prints "ready <instance>" and then
// takes commands on stdin, one per line:
//   deploy <name>        deploys a 4-replica rolling deployment, prints "deployed <id>"
//   update <id> <image>  starts a rolling update on the instance that owns <id>, prints "updating <id>"
//   stale-write <id>     writes <id>'s record with the fencing token this instance holds (or last held), as its
//                        rollout would; prints "written <id>" or (fenced) "refused <id> …"
//   exit                 stops cleanly (releases its leases), prints "stopped" and exits 0
// Every store write refused by fencing prints "refused <id> <message>" (the stale-owner test looks for it).
//
// Usage: dotnet Bpi.Orchestration.PostgreSql.CrashHost.dll <connection-string> <schema> <instance-id> <lease-ms> <step-delay-ms>
using System.Globalization;
using Bpi.Orchestration;
using Bpi.Orchestration.PostgreSql.CrashHost;
using Bpi.Orchestration.Strategies;
using Bpi.Orchestration.Strategies.Rolling;
using Bpi.Orchestration.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

if (args.Length != 5)
{
    Console.Error.WriteLine("usage: <connection-string> <schema> <instance-id> <lease-ms> <step-delay-ms>");
    return 2;
}

var (connectionString, schema, instance) = (args[0], args[1], args[2]);
var lease = TimeSpan.FromMilliseconds(int.Parse(args[3], CultureInfo.InvariantCulture));
var stepDelay = TimeSpan.FromMilliseconds(int.Parse(args[4], CultureInfo.InvariantCulture));
var stdout = TextWriter.Synchronized(Console.Out);

await using var runtimeData = NpgsqlDataSource.Create(connectionString);
await SharedTableRuntime.CreateTablesAsync(runtimeData, schema + "_rt");

var services = new ServiceCollection();
services.AddLogging(logging => logging.AddProvider(new StderrLoggerProvider(instance)).SetMinimumLevel(LogLevel.Information));
services.AddSingleton(new SharedTableRuntime(runtimeData, schema + "_rt", instance, stepDelay, stdout));
services.AddOrchestration(o =>
    {
        o.VmId = "crash";
        o.RemoveOrphansOnStart = false;
    })
    .AddStrategies()
    .UseRuntime<SharedTableRuntime>()
    .AddPostgreSqlState(connectionString, o =>
    {
        o.Schema = schema;
        o.InstanceId = instance;
        o.LeaseDuration = lease;
        o.LeaseRenewInterval = lease / 3;
        o.LeaseSafetyMargin = lease / 4;
        o.PollInterval = lease / 3;
    });

// Every write refused by fencing is reported, so the stale-owner test sees it.
var storeDescriptor = services.Last(d => d.ServiceType == typeof(IDeploymentStore));
((IList<ServiceDescriptor>)services).Add(ServiceDescriptor.Singleton<IDeploymentStore>(sp => new ReportingStore((IDeploymentStore)storeDescriptor.ImplementationFactory!(sp), stdout)));

await using var provider = services.BuildServiceProvider();
var vm = provider.GetRequiredService<IOrchestrationVm>();
await vm.StartAsync();
stdout.WriteLine("ready " + instance);
stdout.Flush();

while (await Console.In.ReadLineAsync() is { } line)
{
    var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    try
    {
        switch (words)
        {
            case ["deploy", var name]:
                var id = await vm.DeployAsync(Spec(name, "crash:1"));
                stdout.WriteLine("deployed " + id);
                break;
            case ["update", var deploymentId, var image]:
                var current = await vm.GetStatusAsync(deploymentId);
                await vm.UpdateAsync(deploymentId, Spec(current.Name, image));
                stdout.WriteLine("updating " + deploymentId);
                break;
            case ["stale-write", var deploymentId]:
                var ownership = provider.GetRequiredService<Bpi.Orchestration.Ownership.IDeploymentOwnership>();
                var store = provider.GetRequiredService<IDeploymentStore>();
                var stored = await store.GetAsync(deploymentId) ?? throw new OrchestrationException(OrchestrationErrorKind.NotFound, deploymentId);
                try
                {
                    await store.SaveAsync(stored with { FencingToken = ownership.GetFencingToken(deploymentId), Message = "written by " + instance });
                    stdout.WriteLine("written " + deploymentId);
                }
                catch (OrchestrationException ex) when (ex.Kind == OrchestrationErrorKind.Conflict)
                {
                    // ReportingStore printed "refused …".
                }

                break;
            case ["exit"]:
                await vm.StopAsync();
                stdout.WriteLine("stopped");
                stdout.Flush();
                return 0;
            default:
                stdout.WriteLine("unknown command: " + line);
                break;
        }
    }
    catch (OrchestrationException ex)
    {
        stdout.WriteLine("error " + ex.Kind + " " + ex.Message.ReplaceLineEndings(" "));
    }

    stdout.Flush();
}

await vm.StopAsync();
return 0;

static DeploymentSpec Spec(string name, string image) => new()
{
    Name = name,
    AppId = "crash",
    Environment = "test",
    Strategy = new RollingStrategySpec { MaxSurge = IntOrPercent.Count(1), MaxUnavailable = IntOrPercent.Count(0) },
    Components = [new ComponentSpec { Id = "web", Image = image, Replicas = 4 }],
};
