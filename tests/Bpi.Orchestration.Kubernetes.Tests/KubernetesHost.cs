using System.Text.Json.Nodes;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Kubernetes.Emulator;
using Bpi.Orchestration.Kubernetes.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Strategies;
using Bpi.Orchestration.Strategies.Analysis;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Kubernetes.Tests;

/// <summary>An orchestrator (Core's VM with the Strategies package) on the Kubernetes runtime, talking HTTP to a cluster named by a kubeconfig.</summary>
internal sealed class KubernetesHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private KubernetesHost(ServiceProvider provider, InMemoryAuditSink audit)
    {
        _provider = provider;
        Audit = audit;
    }

    public IOrchestrationVm Vm => _provider.GetRequiredService<IOrchestrationVm>();

    public KubernetesWorkloadRuntime Runtime => _provider.GetRequiredService<KubernetesWorkloadRuntime>();

    public InMemoryAuditSink Audit { get; }

    /// <summary>The orchestrator's services.</summary>
    public IServiceProvider Services => _provider;

    /// <summary>Starts a VM whose runtime uses <paramref name="kubeconfig"/>; with <paramref name="gateway"/> routes attach to Gateway <c>bpi/gateway</c>.</summary>
    public static async Task<KubernetesHost> StartAsync(string kubeconfig, string vmId = "vm-k8s", bool gateway = true, IDeploymentStore? store = null, Action<KubernetesRuntimeOptions>? options = null, Action<IOrchestrationBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddOrchestration(o => o.VmId = vmId)
            .AddKubernetes(o =>
            {
                o.KubeconfigPath = kubeconfig;
                o.GatewayParentRef = gateway ? "bpi/gateway" : null;
                options?.Invoke(o);
            })
            .AddStrategies()
            .UseRequestSender<FailingRevisionSender>();
        if (store is not null)
        {
            builder.UseDeploymentStore(store);
        }

        configure?.Invoke(builder);
        var audit = new InMemoryAuditSink(100_000);
        builder.UseAuditSink(audit);
        var host = new KubernetesHost(services.BuildServiceProvider(), audit);
        await host.Vm.StartAsync();
        return host;
    }

    public async ValueTask DisposeAsync() => await _provider.DisposeAsync();

    public static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    /// <summary>A spec whose rollout waits little: polls every 20 ms, no delays between blue-green phases.</summary>
    public static DeploymentSpec Web(string image, int replicas = 2, StrategySpec? strategy = null, string environment = "staging", IReadOnlyDictionary<string, string>? secrets = null)
    {
        var spec = Specs.Web(replicas, image, strategy, environment);
        return spec with
        {
            Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(20), ProgressDeadline = TimeSpan.FromSeconds(30) },
            Components =
            [
                spec.Components[0] with
                {
                    Environment = new Dictionary<string, string> { ["MODE"] = "prod" },
                    Secrets = secrets ?? new Dictionary<string, string>(),
                },
            ],
        };
    }

    /// <summary>The weights of an HTTPRoute's backends (Service name → weight) at every write, oldest first.</summary>
    public static List<Dictionary<string, int>> RouteWeights(KubernetesEmulator emulator, string routeName)
        => [.. emulator.History("httproutes")
            .Where(e => e.Type != "DELETED" && (string?)e.Object["metadata"]!["name"] == routeName)
            .Select(e => (e.Object["spec"]!["rules"]![0]!["backendRefs"] as JsonArray ?? [])
                .ToDictionary(b => (string)b!["name"]!, b => (int)b!["weight"]!))];

    /// <summary>Fails every request to revision 2's pods (as a broken canary would), answers the others.</summary>
    internal sealed class FailingRevisionSender : IInstanceRequestSender
    {
        public ValueTask<RequestSample> SendAsync(Bpi.Orchestration.Runtime.WorkloadInstance instance, string path, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(new RequestSample(instance.Revision != 2, TimeSpan.FromMilliseconds(5)));
    }
}
