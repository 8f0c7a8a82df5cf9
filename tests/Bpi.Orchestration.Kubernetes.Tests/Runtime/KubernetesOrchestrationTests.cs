using Bpi.Orchestration.Kubernetes.Emulator;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Rolling;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Kubernetes.Tests.Runtime;

/// <summary>The orchestrator with the real strategies on the Kubernetes runtime, against the API emulator over HTTP.</summary>
public sealed class KubernetesOrchestrationTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new("bpi-k8s");
    private KubernetesEmulator _emulator = null!;
    private string _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _emulator = await KubernetesEmulator.StartAsync();
        _kubeconfig = _temp.Combine("kubeconfig");
        _emulator.WriteKubeconfig(_kubeconfig);
    }

    public async Task DisposeAsync()
    {
        await _emulator.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_rolling_update_of_five_replicas_replaces_revision_1_with_revision_2()
    {
        await using var host = await KubernetesHost.StartAsync(_kubeconfig);
        var rolling = new RollingStrategySpec();
        var id = await host.Vm.DeployAsync(KubernetesHost.Web("web:1", 5, rolling));
        Assert.Equal(DeploymentState.Running, (await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout())).State);

        await host.Vm.UpdateAsync(id, KubernetesHost.Web("web:2", 5, rolling));
        var status = await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(2, status.StableRevision);
        var pods = _emulator.List("pods", "bpi-staging");
        Assert.Equal(5, pods.Count);
        Assert.All(pods, p => Assert.Equal("web:2", (string?)p["spec"]!["containers"]![0]!["image"]));
        Assert.Equal([$"{id}-web-r2"], _emulator.List("deployments", "bpi-staging").Select(d => (string)d["metadata"]!["name"]!));
        var ns = _emulator.Get("namespaces", null, "bpi-staging")!;
        Assert.Equal("restricted", (string?)ns["metadata"]!["labels"]!["pod-security.kubernetes.io/enforce"]);
    }

    [Fact]
    public async Task A_canary_moves_gateway_weights_20_50_100_and_a_failing_analysis_rolls_back_to_the_stable_revision()
    {
        await using var host = await KubernetesHost.StartAsync(_kubeconfig);
        var promoted = new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(20), new CanaryStep.SetWeight(50)] };
        var id = await host.Vm.DeployAsync(KubernetesHost.Web("web:1", 4, promoted));
        await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());
        await host.Vm.UpdateAsync(id, KubernetesHost.Web("web:2", 4, promoted));
        Assert.Equal(DeploymentState.Running, (await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout())).State);

        var route = $"{id}-web";
        var canaryWeights = KubernetesHost.RouteWeights(_emulator, route).Select(w => w.GetValueOrDefault($"{id}-web-r2")).Distinct().ToList();
        Assert.Equal([0, 20, 50, 100], canaryWeights);

        var analysis = new AnalysisSpec
        {
            Name = "success-rate",
            Metrics = [new MetricSpec { Name = "success-rate", Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 10 }, SuccessCondition = MetricCondition.AtLeast(0.95) }],
        };
        var analysed = new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(20), new CanaryStep.Analyze(analysis), new CanaryStep.SetWeight(50)] };
        // The sender fails every request to a revision 2: the canary of a second deployment fails its analysis.
        var failing = await host.Vm.DeployAsync(KubernetesHost.Web("api:1", 2, analysed) with { Name = "api" });
        await host.Vm.WaitUntilSettledAsync(failing, KubernetesHost.Timeout());
        await host.Vm.UpdateAsync(failing, KubernetesHost.Web("api:2", 2, analysed) with { Name = "api" });
        var rolledBack = await host.Vm.WaitUntilSettledAsync(failing, KubernetesHost.Timeout());

        Assert.Equal(DeploymentState.RolledBack, rolledBack.State);
        Assert.Contains("success-rate", rolledBack.Message, StringComparison.Ordinal);
        var weights = KubernetesHost.RouteWeights(_emulator, $"{failing}-web");
        Assert.Equal(new Dictionary<string, int> { [$"{failing}-web-r1"] = 100 }, weights[^1].Where(w => w.Value > 0).ToDictionary());
        Assert.DoesNotContain(weights, w => w.GetValueOrDefault($"{failing}-web-r2") == 50);
        Assert.All(await host.Runtime.GetInstancesAsync(failing), i => Assert.Equal(1, i.Revision));
    }

    [Fact]
    public async Task A_blue_green_update_previews_green_behind_its_own_route_then_switches_the_gateway_to_it()
    {
        await using var host = await KubernetesHost.StartAsync(_kubeconfig);
        var blueGreen = new BlueGreenStrategySpec { ScaleDownDelay = TimeSpan.Zero };
        var id = await host.Vm.DeployAsync(KubernetesHost.Web("web:1", 2, blueGreen));
        await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());

        await host.Vm.UpdateAsync(id, KubernetesHost.Web("web:2", 2, blueGreen));
        var status = await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());

        Assert.Equal(DeploymentState.Running, status.State);
        var preview = KubernetesHost.RouteWeights(_emulator, $"{id}-web-preview");
        Assert.Contains(preview, w => w.GetValueOrDefault($"{id}-web-r2") == 100);
        var main = KubernetesHost.RouteWeights(_emulator, $"{id}-web");
        var switched = main.FindIndex(w => w.GetValueOrDefault($"{id}-web-r2") == 100);
        Assert.True(switched > 0, "the main route moved to green");
        Assert.All(main.Take(switched), w => Assert.Equal(100, w.GetValueOrDefault($"{id}-web-r1")));
        Assert.Null(_emulator.Get("httproutes", "bpi-staging", $"{id}-web-preview"));
    }

    [Fact]
    public async Task A_crash_looping_revision_is_rolled_back_with_the_pods_reason()
    {
        await using var host = await KubernetesHost.StartAsync(_kubeconfig);
        var id = await host.Vm.DeployAsync(KubernetesHost.Web("web:1", 2, new RollingStrategySpec()));
        await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());
        _emulator.ScriptImage("web:2", PodBehavior.CrashLoop);

        await host.Vm.UpdateAsync(id, KubernetesHost.Web("web:2", 2, new RollingStrategySpec()));
        var status = await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("CrashLoopBackOff: back-off", status.Message, StringComparison.Ordinal);
        Assert.Contains("exit code 1", status.Message, StringComparison.Ordinal);
        Assert.All(_emulator.List("pods", "bpi-staging"), p => Assert.Equal("web:1", (string?)p["spec"]!["containers"]![0]!["image"]));
    }

    [Fact]
    public async Task Destroying_a_deployment_leaves_nothing_of_it_in_the_cluster()
    {
        await using var host = await KubernetesHost.StartAsync(_kubeconfig);
        var spec = KubernetesHost.Web("web:1", 2, new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(50)] }, secrets: new Dictionary<string, string> { ["API_KEY"] = "s3cret" });
        spec = spec with { Components = [spec.Components[0] with { RuntimeSettings = new Dictionary<string, string> { ["docker.volume.data"] = "/data" } }] };
        var id = await host.Vm.DeployAsync(spec);
        await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());
        await host.Vm.UpdateAsync(id, spec with { Components = [spec.Components[0] with { Image = "web:2" }] });
        await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());
        var selector = $"bpi.orchestration/deployment={id}";
        foreach (var kind in new[] { "deployments", "pods", "services", "secrets", "persistentvolumeclaims", "httproutes" })
        {
            Assert.NotEmpty(_emulator.List(kind, null, selector));
        }

        await host.Vm.DestroyAsync(id);
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, KubernetesHost.Timeout());

        foreach (var kind in new[] { "deployments", "pods", "services", "secrets", "persistentvolumeclaims", "httproutes", "horizontalpodautoscalers" })
        {
            Assert.Empty(_emulator.List(kind, null, selector));
        }
    }

    [Fact]
    public async Task A_restarted_orchestrator_adopts_what_its_store_knows_and_deletes_what_it_recorded_as_destroyed()
    {
        var store = new InMemoryDeploymentStore();
        string kept, destroyed;
        await using (var first = await KubernetesHost.StartAsync(_kubeconfig, store: store))
        {
            kept = await first.Vm.DeployAsync(KubernetesHost.Web("web:1"));
            destroyed = await first.Vm.DeployAsync(KubernetesHost.Web("api:1") with { Name = "api" });
            await first.Vm.WaitUntilSettledAsync(kept, KubernetesHost.Timeout());
            await first.Vm.WaitUntilSettledAsync(destroyed, KubernetesHost.Timeout());
            await first.Vm.DestroyAsync(destroyed);
            await first.Vm.WaitForStateAsync(destroyed, s => s == DeploymentState.Destroyed, KubernetesHost.Timeout());

            // A write of a crashed process lands after the destroy: an orphan the store says must not exist.
            await first.Runtime.EnsureReplicasAsync(new WorkloadRevision
            {
                OwnerId = "vm-k8s", DeploymentId = destroyed, DeploymentName = "api", AppId = "shop", Environment = "staging", Revision = 1,
                Component = KubernetesHost.Web("api:1").Components[0],
            }, 2);
        }

        Assert.Equal(2, _emulator.List("pods", null, $"bpi.orchestration/deployment={destroyed}").Count);
        await using var restarted = await KubernetesHost.StartAsync(_kubeconfig, store: store);

        Assert.Empty(_emulator.List("pods", null, $"bpi.orchestration/deployment={destroyed}"));
        Assert.Empty(_emulator.List("deployments", null, $"bpi.orchestration/deployment={destroyed}"));
        Assert.Equal(2, (await restarted.Runtime.GetInstancesAsync(kept)).Count(i => i.State == InstanceState.Running));
        Assert.Equal(DeploymentState.Running, (await restarted.Vm.GetStatusAsync(kept)).State);
    }

    [Fact]
    public async Task A_deployment_the_cluster_forbids_fails_naming_the_missing_verb_and_resource()
    {
        _emulator.Deny("create", "deployments");
        await using var host = await KubernetesHost.StartAsync(_kubeconfig);

        var id = await host.Vm.DeployAsync(KubernetesHost.Web("web:1"));
        var status = await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());

        Assert.Equal(DeploymentState.Failed, status.State);
        Assert.Contains("denied the orchestrator the verb 'create' on resource 'deployments'", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_gateway_weights_are_approximated_by_replicas_behind_one_stable_service_and_the_status_says_so()
    {
        await using var host = await KubernetesHost.StartAsync(_kubeconfig, gateway: false);
        var canary = new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(50), new CanaryStep.Pause(null)] };
        var id = await host.Vm.DeployAsync(KubernetesHost.Web("web:1", 2, canary));
        await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());

        await host.Vm.UpdateAsync(id, KubernetesHost.Web("web:2", 2, canary));
        var paused = await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Paused, KubernetesHost.Timeout());

        Assert.True(Assert.Single(paused.Components).WeightsApproximated);
        Assert.Empty(_emulator.List("httproutes"));
        var stable = _emulator.Get("services", "bpi-staging", $"{id}-web")!;
        Assert.Null(stable["spec"]!["selector"]!["bpi.orchestration/revision"]);
        await host.Vm.AbortAsync(id);
    }
}
