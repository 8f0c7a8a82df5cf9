using Bpi.Orchestration.Cli.Demo;
using Bpi.Orchestration.Kubernetes.Emulator;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>
/// <c>--runtime kubernetes</c>: the CLI's commands, each a new invocation, on the Kubernetes runtime (<c>AddKubernetes</c>)
/// against the in-process API emulator through a kubeconfig file, as they would run against kind or k3s.
/// </summary>
public sealed class KubernetesRuntimeTests : IAsyncLifetime
{
    private readonly CliSandbox _cli = new();
    private KubernetesEmulator _emulator = null!;
    private string _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _emulator = await KubernetesEmulator.StartAsync();
        _kubeconfig = _cli.Dir("kubeconfig");
        _emulator.WriteKubeconfig(_kubeconfig);
    }

    public async Task DisposeAsync()
    {
        await _emulator.DisposeAsync();
        _cli.Dispose();
    }

    private string Config(string image, string strategy = "rolling") => _cli.WriteFile($"web-{image.Replace(':', '-')}.yaml", $$"""
        name: web
        appId: shop
        environment: staging
        components:
          - id: web
            image: {{image}}
            replicas: 2
            ports: [8080]
            resources: { cpuCores: 0.1, memoryMb: 64 }
            autoscaling: { minReplicas: 2, maxReplicas: 4 }
        strategy: { type: {{strategy}} }
        validation: { pollInterval: 50ms, progressDeadline: 30s, healthValidation: false }
        """);

    [Fact]
    public async Task Deploy_status_update_rollback_and_destroy_run_on_the_cluster_the_kubeconfig_names()
    {
        var deploy = await _cli.RunAsync("deploy", "--runtime", "kubernetes", "--kubeconfig", _kubeconfig, "--config", Config("shop/web:1"), "--output", "json");
        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        var id = deploy.Json.GetProperty("id").GetString()!;
        Assert.Equal("Running", deploy.Json.GetProperty("state").GetString());
        Assert.Equal(2, _emulator.List("pods", "bpi-staging", $"bpi.orchestration/deployment={id}").Count);
        Assert.Equal($"{id}-web-r1", (string?)_emulator.Get("horizontalpodautoscalers", "bpi-staging", $"{id}-web")!["spec"]!["scaleTargetRef"]!["name"]);

        // Later commands find the cluster in the state directory's runtime.json: no options repeated.
        var status = await _cli.RunAsync("status", "--deployment-id", id, "--output", "json");
        Assert.True(status.ExitCode == ExitCodes.Success, status.ToString());
        var revision = status.Json.GetProperty("components")[0].GetProperty("revisions")[0];
        Assert.Equal((1, 2, 2), (revision.GetProperty("revision").GetInt32(), revision.GetProperty("instances").GetInt32(), revision.GetProperty("ready").GetInt32()));

        var update = await _cli.RunAsync("update", "-d", id, "--config", Config("shop/web:2"), "-o", "json");
        Assert.True(update.ExitCode == ExitCodes.Success, update.ToString());
        Assert.Equal(2, update.Json.GetProperty("stableRevision").GetInt32());
        Assert.All(_emulator.List("pods", "bpi-staging"), p => Assert.Equal("shop/web:2", (string?)p["spec"]!["containers"]![0]!["image"]));
        Assert.Equal($"{id}-web-r2", (string?)_emulator.Get("horizontalpodautoscalers", "bpi-staging", $"{id}-web")!["spec"]!["scaleTargetRef"]!["name"]);

        var rollback = await _cli.RunAsync("rollback", "-d", id, "--to-revision", "1", "-o", "json");
        Assert.True(rollback.ExitCode == ExitCodes.Success, rollback.ToString());
        Assert.Equal(3, rollback.Json.GetProperty("stableRevision").GetInt32());
        Assert.All(_emulator.List("pods", "bpi-staging"), p => Assert.Equal("shop/web:1", (string?)p["spec"]!["containers"]![0]!["image"]));

        var destroy = await _cli.RunAsync("destroy", "-d", id, "-o", "json");
        Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
        Assert.Equal("Destroyed", destroy.Json.GetProperty("state").GetString());
        foreach (var kind in new[] { "deployments", "pods", "services", "secrets", "horizontalpodautoscalers" })
        {
            Assert.Empty(_emulator.List(kind, null, $"bpi.orchestration/deployment={id}"));
        }

        var audit = await _cli.RunAsync("audit", "verify", "--output", "json");
        Assert.True(audit.ExitCode == ExitCodes.Success, audit.ToString());
    }

    [Fact]
    public async Task A_state_directory_on_kubernetes_refuses_another_runtime_naming_the_recorded_one()
    {
        var deploy = await _cli.RunAsync("deploy", "--runtime", "kubernetes", "--kubeconfig", _kubeconfig, "--config", Config("shop/web:1"));
        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());

        var other = await _cli.RunAsync("deploy", "--runtime", "process", "--config", Config("shop/web:1"));

        Assert.Equal(ExitCodes.UsageError, other.ExitCode);
        Assert.Contains("run on kubernetes (recorded in runtime.json); pass --runtime kubernetes", other.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreadable_kubeconfig_is_an_invalid_configuration_naming_the_file()
    {
        var missing = _cli.Dir("no-such-kubeconfig");

        var deploy = await _cli.RunAsync("deploy", "--runtime", "kubernetes", "--kubeconfig", missing, "--config", Config("shop/web:1"));

        Assert.Equal(ExitCodes.InvalidConfig, deploy.ExitCode);
        Assert.Contains(missing, deploy.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_demo_on_kubernetes_promotes_v2_rolls_back_the_unpullable_v3_and_leaves_nothing()
    {
        const string image = "nginxinc/nginx-unprivileged:1.27";
        _emulator.ScriptImage(KubernetesDemoRunner.MissingImage(image), PodBehavior.ImagePullError);

        var demo = await _cli.RunAsync("demo", "--runtime", "kubernetes", "--kubeconfig", _kubeconfig, "--image", image, "--output", "json");

        Assert.True(demo.ExitCode == ExitCodes.Success, demo.ToString());
        Assert.True(demo.Json.GetProperty("passed").GetBoolean());
        Assert.Equal("kubernetes", demo.Json.GetProperty("runtime").GetString());
        Assert.Contains(demo.Json.GetProperty("checks").EnumerateArray(), c => c.GetProperty("detail").GetString()!.Contains("ImagePullBackOff", StringComparison.Ordinal));
        Assert.Empty(_emulator.List("pods", null, "app.kubernetes.io/managed-by=bpi-orchestration"));
        Assert.Empty(_emulator.List("deployments"));
    }

    [Fact]
    public async Task The_demo_on_kubernetes_needs_an_image()
    {
        var demo = await _cli.RunAsync("demo", "--runtime", "kubernetes", "--kubeconfig", _kubeconfig);

        Assert.Equal(ExitCodes.UsageError, demo.ExitCode);
        Assert.Contains("needs --image", demo.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nginx:1.27", "nginx:bpi-demo-missing")]
    [InlineData("registry:5000/team/app", "registry:5000/team/app:bpi-demo-missing")]
    [InlineData("app@sha256:0123", "app:bpi-demo-missing")]
    public void The_demos_v3_image_is_the_image_with_a_tag_no_registry_serves(string image, string expected)
        => Assert.Equal(expected, KubernetesDemoRunner.MissingImage(image));
}
