using Bpi.Orchestration.Kubernetes.Emulator;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Rolling;

namespace Bpi.Orchestration.Kubernetes.Tests.Autoscaling;

/// <summary><see cref="ComponentSpec.Autoscaling"/> on Kubernetes: an <c>autoscaling/v2</c> HPA on the serving revision, against the emulator.</summary>
public sealed class AutoscalingTests : IAsyncLifetime
{
    private static readonly AutoscalingSpec Autoscaling = new() { MinReplicas = 2, MaxReplicas = 6, TargetCpuUtilizationPercent = 70 };
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
    public async Task The_hpa_follows_the_serving_revision_stays_on_it_through_a_rollback_and_goes_with_the_deployment()
    {
        await using var host = await KubernetesHost.StartAsync(_kubeconfig);
        var id = await host.Vm.DeployAsync(Web("web:1"));
        Assert.Equal(DeploymentState.Running, (await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout())).State);

        var hpa = _emulator.Get("horizontalpodautoscalers", "bpi-staging", $"{id}-web")!;
        Assert.Equal("autoscaling/v2", (string?)hpa["apiVersion"]);
        Assert.Equal("Deployment", (string?)hpa["spec"]!["scaleTargetRef"]!["kind"]);
        Assert.Equal($"{id}-web-r1", (string?)hpa["spec"]!["scaleTargetRef"]!["name"]);
        Assert.Equal(2, (int?)hpa["spec"]!["minReplicas"]);
        Assert.Equal(6, (int?)hpa["spec"]!["maxReplicas"]);
        Assert.Equal(70, (int?)hpa["spec"]!["metrics"]![0]!["resource"]!["target"]!["averageUtilization"]);
        Assert.Equal(id, (string?)hpa["metadata"]!["labels"]!["bpi.orchestration/deployment"]);

        // A rolling update: the HPA stays on revision 1 while revision 2 comes up, and moves once revision 1 is gone.
        await host.Vm.UpdateAsync(id, Web("web:2"));
        Assert.Equal(2, (await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout())).StableRevision);
        Assert.Equal([$"{id}-web-r1", $"{id}-web-r2"], Targets(id));

        // A revision that crash-loops is rolled back: the HPA never leaves the stable revision 2.
        _emulator.ScriptImage("web:3", PodBehavior.CrashLoop);
        await host.Vm.UpdateAsync(id, Web("web:3"));
        Assert.Equal(DeploymentState.RolledBack, (await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout())).State);
        Assert.Equal([$"{id}-web-r1", $"{id}-web-r2"], Targets(id));

        await host.Vm.DestroyAsync(id);
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, KubernetesHost.Timeout());
        Assert.Empty(_emulator.List("horizontalpodautoscalers", null, $"bpi.orchestration/deployment={id}"));
    }

    [Fact]
    public async Task The_hpa_carries_the_memory_target_the_custom_metrics_and_the_behaviour_of_the_spec()
    {
        await using var host = await KubernetesHost.StartAsync(_kubeconfig);
        var spec = Web("web:1");
        var autoscaling = Autoscaling with
        {
            TargetMemoryUtilizationPercent = 60,
            Metrics =
            [
                new AutoscalingMetric { Name = "http-requests", Query = new PrometheusMetricQuery(new Uri("http://prometheus:9090"), "sum(rate(http_requests_total[1m]))"), TargetAverageValue = 100 },
                new AutoscalingMetric { Name = "queue-depth", Query = new PrometheusMetricQuery(new Uri("http://prometheus:9090"), "max(queue_depth)"), TargetValue = 2.5 },
            ],
            ScaleUp = new AutoscalingRules { StabilizationWindow = TimeSpan.FromSeconds(30), SelectPolicy = AutoscalingSelectPolicy.Min, Policies = [new AutoscalingPolicy(AutoscalingPolicyType.Pods, 2, TimeSpan.FromSeconds(60))] },
            ScaleDown = AutoscalingRules.DefaultScaleDown with { SelectPolicy = AutoscalingSelectPolicy.Disabled },
        };
        var id = await host.Vm.DeployAsync(spec with { Components = [spec.Components[0] with { Autoscaling = autoscaling }] });
        Assert.Equal(DeploymentState.Running, (await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout())).State);

        var hpa = _emulator.Get("horizontalpodautoscalers", "bpi-staging", $"{id}-web")!["spec"]!;
        var metrics = hpa["metrics"]!.AsArray();
        Assert.Equal(["Resource", "Resource", "External", "External"], metrics.Select(m => (string?)m!["type"]));
        Assert.Equal(("cpu", 70), ((string?)metrics[0]!["resource"]!["name"], (int?)metrics[0]!["resource"]!["target"]!["averageUtilization"]));
        Assert.Equal(("memory", 60), ((string?)metrics[1]!["resource"]!["name"], (int?)metrics[1]!["resource"]!["target"]!["averageUtilization"]));
        var requests = metrics[2]!["external"]!;
        Assert.Equal(("http-requests", "AverageValue", "100"), ((string?)requests["metric"]!["name"], (string?)requests["target"]!["type"], (string?)requests["target"]!["averageValue"]));
        Assert.Equal(id, (string?)requests["metric"]!["selector"]!["matchLabels"]!["bpi.orchestration/deployment"]);
        var queue = metrics[3]!["external"]!;
        Assert.Equal(("queue-depth", "Value", "2500m"), ((string?)queue["metric"]!["name"], (string?)queue["target"]!["type"], (string?)queue["target"]!["value"]));

        var up = hpa["behavior"]!["scaleUp"]!;
        Assert.Equal((30, "Min"), ((int?)up["stabilizationWindowSeconds"], (string?)up["selectPolicy"]));
        Assert.Equal(("Pods", 2, 60), ((string?)up["policies"]![0]!["type"], (int?)up["policies"]![0]!["value"], (int?)up["policies"]![0]!["periodSeconds"]));
        var down = hpa["behavior"]!["scaleDown"]!;
        Assert.Equal((300, "Disabled"), ((int?)down["stabilizationWindowSeconds"], (string?)down["selectPolicy"]));
        Assert.Equal(("Percent", 100, 15), ((string?)down["policies"]![0]!["type"], (int?)down["policies"]![0]!["value"], (int?)down["policies"]![0]!["periodSeconds"]));
    }

    [Fact]
    public async Task A_revision_that_no_longer_asks_for_autoscaling_removes_the_hpa_once_it_serves()
    {
        await using var host = await KubernetesHost.StartAsync(_kubeconfig);
        var id = await host.Vm.DeployAsync(Web("web:1"));
        await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());
        Assert.NotNull(_emulator.Get("horizontalpodautoscalers", "bpi-staging", $"{id}-web"));

        var fixedSize = Web("web:2");
        await host.Vm.UpdateAsync(id, fixedSize with { Components = [fixedSize.Components[0] with { Autoscaling = null }] });
        Assert.Equal(DeploymentState.Running, (await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout())).State);

        Assert.Null(_emulator.Get("horizontalpodautoscalers", "bpi-staging", $"{id}-web"));
        Assert.Equal([$"{id}-web-r1"], Targets(id));
    }

    [Fact]
    public async Task A_deployment_without_autoscaling_makes_no_hpa_request()
    {
        await using var host = await KubernetesHost.StartAsync(_kubeconfig);
        var spec = Web("web:1");
        var id = await host.Vm.DeployAsync(spec with { Components = [spec.Components[0] with { Autoscaling = null }] });
        await host.Vm.WaitUntilSettledAsync(id, KubernetesHost.Timeout());

        Assert.Empty(_emulator.List("horizontalpodautoscalers"));
        Assert.Equal(0, _emulator.CountRequests("get", "horizontalpodautoscalers") + _emulator.CountRequests("create", "horizontalpodautoscalers"));
    }

    private static DeploymentSpec Web(string image)
    {
        var spec = KubernetesHost.Web(image, 2, new RollingStrategySpec());
        return spec with { Components = [spec.Components[0] with { Autoscaling = Autoscaling }] };
    }

    /// <summary>The Deployments the component's HPA targeted, in the order it targeted them.</summary>
    private List<string> Targets(string id)
    {
        var targets = new List<string>();
        foreach (var e in _emulator.History("horizontalpodautoscalers").Where(e => e.Type != "DELETED" && (string?)e.Object["metadata"]!["name"] == $"{id}-web"))
        {
            var target = (string)e.Object["spec"]!["scaleTargetRef"]!["name"]!;
            if (targets.Count == 0 || targets[^1] != target)
            {
                targets.Add(target);
            }
        }

        return targets;
    }
}
