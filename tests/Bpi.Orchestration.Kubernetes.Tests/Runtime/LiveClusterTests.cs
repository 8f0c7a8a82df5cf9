using Bpi.Orchestration.Kubernetes.Emulator;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Rolling;

namespace Bpi.Orchestration.Kubernetes.Tests.Runtime;

/// <summary>
/// The live scenarios — rolling update, blue-green through a Gateway, a failing canary rolled back, destroy leaving
/// nothing — against a real cluster when <c>BPI_KUBECONFIG</c> names one (kind, k3s, …; the image is
/// <c>BPI_KUBE_IMAGE</c>, default <c>nginxinc/nginx-unprivileged:1.27</c>, serving on 8080 as a non-root user; the
/// blue-green scenario needs the Gateway API CRDs installed), and the very same code against the emulator's URL always,
/// through a kubeconfig file written for it, so the live code is known to run. CI here has no cluster: the live variants
/// skip there with a message saying so.
/// </summary>
public sealed class LiveClusterTests
{
    private const string KubeconfigVariable = "BPI_KUBECONFIG";

    [SkippableFact]
    public Task Live_a_rolling_update_completes_and_destroy_leaves_nothing()
        => RunLiveAsync(RollingThenDestroyAsync);

    [SkippableFact]
    public Task Live_a_blue_green_update_previews_then_switches_the_gateway_and_destroy_leaves_nothing()
        => RunLiveAsync(BlueGreenThenDestroyAsync);

    [SkippableFact]
    public Task Live_a_failing_canary_is_rolled_back_with_the_stable_revision_serving_and_destroy_leaves_nothing()
        => RunLiveAsync(FailingCanaryThenDestroyAsync);

    [Fact]
    public Task The_live_rolling_scenario_runs_against_the_emulators_url()
        => RunOnEmulatorAsync(RollingThenDestroyAsync);

    [Fact]
    public Task The_live_blue_green_scenario_runs_against_the_emulators_url()
        => RunOnEmulatorAsync(BlueGreenThenDestroyAsync);

    [Fact]
    public Task The_live_failing_canary_scenario_runs_against_the_emulators_url()
        => RunOnEmulatorAsync(FailingCanaryThenDestroyAsync);

    private static async Task RunLiveAsync(Func<LiveTarget, Task> scenario)
    {
        var kubeconfig = Environment.GetEnvironmentVariable(KubeconfigVariable);
        Skip.If(string.IsNullOrEmpty(kubeconfig), $"{KubeconfigVariable} names no kubeconfig: no Kubernetes cluster to run the live tests against (CI here has none; the same scenarios run against the emulator's URL in The_live_*_runs_against_the_emulators_url).");
        await scenario(new LiveTarget(kubeconfig!, Environment.GetEnvironmentVariable("BPI_KUBE_IMAGE") ?? "nginxinc/nginx-unprivileged:1.27", TimeSpan.FromMinutes(5)));
    }

    private static async Task RunOnEmulatorAsync(Func<LiveTarget, Task> scenario)
    {
        await using var emulator = await KubernetesEmulator.StartAsync();
        using var temp = new TempDirectory("bpi-k8s");
        emulator.WriteKubeconfig(temp.Combine("kubeconfig"));

        await scenario(new LiveTarget(temp.Combine("kubeconfig"), "nginxinc/nginx-unprivileged:1.27", TimeSpan.FromSeconds(60)));

        // What the runtime says is gone is gone from the API server too.
        foreach (var kind in new[] { "deployments", "pods", "services", "secrets", "horizontalpodautoscalers", "httproutes" })
        {
            Assert.Empty(emulator.List(kind, null, "app.kubernetes.io/managed-by=bpi-orchestration"));
        }
    }

    private static async Task RollingThenDestroyAsync(LiveTarget target)
    {
        var spec = target.Spec(new RollingStrategySpec(), replicas: 2);
        await using var host = await KubernetesHost.StartAsync(target.Kubeconfig, vmId: "vm-live", gateway: false);
        await DeployUpdateDestroyAsync(host, target, spec, SecondRevision(spec), status =>
        {
            Assert.Equal(DeploymentState.Running, status.State);
            Assert.Equal(2, status.StableRevision);
        });
    }

    private static async Task BlueGreenThenDestroyAsync(LiveTarget target)
    {
        var spec = target.Spec(new BlueGreenStrategySpec { ScaleDownDelay = TimeSpan.Zero }, replicas: 2);
        await using var host = await KubernetesHost.StartAsync(target.Kubeconfig, vmId: "vm-live", gateway: true);
        await DeployUpdateDestroyAsync(host, target, spec, SecondRevision(spec), status =>
        {
            Assert.Equal(DeploymentState.Running, status.State);
            Assert.Equal(2, status.StableRevision);
            var component = Assert.Single(status.Components);
            Assert.False(component.WeightsApproximated);
        });
    }

    private static async Task FailingCanaryThenDestroyAsync(LiveTarget target)
    {
        // KubernetesHost's request sender fails every request to a revision 2: its analysis fails and it is rolled back.
        var analysis = new AnalysisSpec
        {
            Name = "success-rate",
            Metrics = [new MetricSpec { Name = "success-rate", Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 10 }, SuccessCondition = MetricCondition.AtLeast(0.95) }],
        };
        var spec = target.Spec(new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(20), new CanaryStep.Analyze(analysis), new CanaryStep.SetWeight(50)] }, replicas: 2);
        await using var host = await KubernetesHost.StartAsync(target.Kubeconfig, vmId: "vm-live", gateway: true);
        await DeployUpdateDestroyAsync(host, target, spec, SecondRevision(spec), status =>
        {
            Assert.Equal(DeploymentState.RolledBack, status.State);
            Assert.Equal(1, status.StableRevision);
            Assert.Contains("success-rate", status.Message, StringComparison.Ordinal);
        }, async id => Assert.All(await host.Runtime.GetInstancesAsync(id), i => Assert.Equal(1, i.Revision)));
    }

    private static DeploymentSpec SecondRevision(DeploymentSpec spec)
        => spec with { Components = [spec.Components[0] with { Environment = new Dictionary<string, string> { ["MODE"] = "v2" } }] };

    private static async Task DeployUpdateDestroyAsync(KubernetesHost host, LiveTarget target, DeploymentSpec first, DeploymentSpec second, Action<DeploymentStatus> afterUpdate, Func<string, Task>? thenCheck = null)
    {
        using var cts = new CancellationTokenSource(target.Timeout * 3);
        var id = await host.Vm.DeployAsync(first, cts.Token);
        try
        {
            Assert.Equal(DeploymentState.Running, (await host.Vm.WaitUntilSettledAsync(id, cts.Token)).State);
            await host.Vm.UpdateAsync(id, second, cts.Token);
            afterUpdate(await host.Vm.WaitUntilSettledAsync(id, cts.Token));
            if (thenCheck is not null)
            {
                await thenCheck(id);
            }
        }
        finally
        {
            await host.Vm.DestroyAsync(id, cancellationToken: cts.Token);
            await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, cts.Token);
        }

        Assert.Empty(await host.Runtime.GetInstancesAsync(id));
        Assert.Empty(await host.Runtime.ListOwnedAsync());
    }

    private sealed record LiveTarget(string Kubeconfig, string Image, TimeSpan Timeout)
    {
        /// <summary>A spec in an environment of its own (a namespace nobody else uses), with health validation left to the pods' readiness probes.</summary>
        public DeploymentSpec Spec(StrategySpec strategy, int replicas)
            => KubernetesHost.Web(Image, replicas, strategy, "live-" + Guid.NewGuid().ToString("N")[..8]) with
            {
                Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(200), ProgressDeadline = Timeout, HealthValidation = false },
            };
    }
}
