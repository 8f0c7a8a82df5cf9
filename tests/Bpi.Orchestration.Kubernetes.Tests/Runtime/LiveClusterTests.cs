using Bpi.Orchestration.Kubernetes.Emulator;
using Bpi.Orchestration.Strategies.Rolling;

namespace Bpi.Orchestration.Kubernetes.Tests.Runtime;

/// <summary>
/// The same scenarios against a real cluster when <c>BPI_KUBECONFIG</c> names one (kind, k3s, …; the image is
/// <c>BPI_KUBE_IMAGE</c>, default <c>nginxinc/nginx-unprivileged:1.27</c>, serving on 8080 as a non-root user), and against
/// the emulator always, so they are known to run. CI here has no cluster: the live variant skips there.
/// </summary>
public sealed class LiveClusterTests
{
    private const string KubeconfigVariable = "BPI_KUBECONFIG";

    [SkippableFact]
    public async Task Live_a_rolling_update_completes_and_destroy_leaves_nothing()
    {
        var kubeconfig = Environment.GetEnvironmentVariable(KubeconfigVariable);
        Skip.If(string.IsNullOrEmpty(kubeconfig), $"{KubeconfigVariable} names no kubeconfig: no Kubernetes cluster to run the live tests against (CI here has none; they run against the emulator below).");
        await RollingThenDestroyAsync(kubeconfig!, Environment.GetEnvironmentVariable("BPI_KUBE_IMAGE") ?? "nginxinc/nginx-unprivileged:1.27", TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task The_live_scenario_runs_against_the_emulators_url()
    {
        await using var emulator = await KubernetesEmulator.StartAsync();
        using var temp = new TempDirectory("bpi-k8s");
        emulator.WriteKubeconfig(temp.Combine("kubeconfig"));

        await RollingThenDestroyAsync(temp.Combine("kubeconfig"), "nginxinc/nginx-unprivileged:1.27", TimeSpan.FromSeconds(60));

        Assert.Empty(emulator.List("pods", null, "app.kubernetes.io/managed-by=bpi-orchestration"));
    }

    private static async Task RollingThenDestroyAsync(string kubeconfig, string image, TimeSpan timeout)
    {
        var environment = "live-" + Guid.NewGuid().ToString("N")[..8];
        await using var host = await KubernetesHost.StartAsync(kubeconfig, vmId: "vm-live", gateway: false);
        var spec = KubernetesHost.Web(image, 2, new RollingStrategySpec(), environment) with
        {
            Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(200), ProgressDeadline = timeout, HealthValidation = false },
        };
        using var cts = new CancellationTokenSource(timeout * 3);
        var id = await host.Vm.DeployAsync(spec, cts.Token);
        try
        {
            Assert.Equal(DeploymentState.Running, (await host.Vm.WaitUntilSettledAsync(id, cts.Token)).State);
            var second = spec with { Components = [spec.Components[0] with { Environment = new Dictionary<string, string> { ["MODE"] = "v2" } }] };
            await host.Vm.UpdateAsync(id, second, cts.Token);
            var status = await host.Vm.WaitUntilSettledAsync(id, cts.Token);
            Assert.Equal(DeploymentState.Running, status.State);
            Assert.Equal(2, status.StableRevision);
        }
        finally
        {
            await host.Vm.DestroyAsync(id, cancellationToken: cts.Token);
            await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, cts.Token);
        }

        Assert.Empty(await host.Runtime.GetInstancesAsync(id));
        Assert.Empty(await host.Runtime.ListOwnedAsync());
    }
}
