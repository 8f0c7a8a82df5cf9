using Bpi.Orchestration.Kubernetes.Emulator;
using Bpi.Orchestration.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Bpi.Orchestration.Kubernetes.Tests.Runtime;

/// <summary>The runtime alone against the emulator: conflicts, invalid objects, expired watches, hardening, options.</summary>
public sealed class KubernetesWorkloadRuntimeTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new("bpi-k8s");
    private KubernetesEmulator _emulator = null!;
    private KubernetesHost _host = null!;

    public async Task InitializeAsync()
    {
        _emulator = await KubernetesEmulator.StartAsync();
        _emulator.WriteKubeconfig(_temp.Combine("kubeconfig"));
        _host = await KubernetesHost.StartAsync(_temp.Combine("kubeconfig"));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _emulator.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_scale_that_meets_409_conflicts_re_reads_and_retries_until_it_lands()
    {
        var runtime = _host.Runtime;
        await runtime.EnsureReplicasAsync(Revision("web:1"), 1);
        _emulator.ConflictNext("update", "deployments", times: 2);

        await runtime.EnsureReplicasAsync(Revision("web:1"), 3);

        Assert.Equal(3, (int?)_emulator.Get("deployments", "bpi-staging", "d1-web-r1")!["spec"]!["replicas"]);
        Assert.Equal(3, _emulator.CountRequests("update", "deployments"));
        Assert.Equal(3, _emulator.CountRequests("get", "deployments") - 1);
        var instances = await runtime.GetInstancesAsync("d1");
        Assert.Equal(3, instances.Count(i => i.State == InstanceState.Running));
    }

    [Fact]
    public async Task An_object_the_api_server_finds_invalid_is_a_spec_error_and_is_never_retried()
    {
        var bad = new V1Deployment { Metadata = new V1ObjectMeta { Name = "Not_A_Name" }, Spec = new V1DeploymentSpec { Selector = new V1LabelSelector(), Template = new V1PodTemplateSpec() } };
        await _host.Runtime.EnsureReplicasAsync(Revision("web:1"), 1);

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => _host.Runtime.Api.CallAsync("create", "deployments", "bpi-staging", (c, ct) => c.AppsV1.CreateNamespacedDeploymentAsync(bad, "bpi-staging", cancellationToken: ct), CancellationToken.None));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("not retried", error.Message, StringComparison.Ordinal);
        Assert.Contains(error.Errors, e => e.StartsWith("metadata.name:", StringComparison.Ordinal));
        Assert.Equal(2, _emulator.CountRequests("create", "deployments"));
    }

    [Fact]
    public async Task After_410_gone_the_caches_list_again_and_keep_following_the_cluster()
    {
        var runtime = _host.Runtime;
        await runtime.EnsureReplicasAsync(Revision("web:1"), 1);
        Assert.Single(await runtime.GetInstancesAsync("d1"));
        var lists = runtime.Pods.Lists;

        // Both caches' watches are open (a watch opened after the expiry would start from the current version, no 410 due).
        await Eventually.UntilAsync(() => Task.FromResult(_emulator.OpenWatches), n => n >= 2, "the pod and deployment watches are open");
        _emulator.ExpireWatches();
        await runtime.EnsureReplicasAsync(Revision("web:1"), 2);

        await Eventually.UntilAsync(async () => (await runtime.GetInstancesAsync("d1")).Count, n => n == 2 && runtime.Pods.Lists > lists, $"the pod cache listed again after 410 Gone and sees the second pod (lists {lists} -> {runtime.Pods.Lists}, deployments {runtime.Deployments.Lists}, watches {_emulator.OpenWatches})");
    }

    [Fact]
    public async Task Pods_run_with_the_restricted_security_context_and_secrets_only_by_reference()
    {
        await _host.Runtime.EnsureReplicasAsync(Revision("web:1"), 1);

        var pod = Assert.Single(_emulator.List("pods", "bpi-staging"));
        var json = pod.ToJsonString();
        Assert.DoesNotContain("s3cret", json, StringComparison.Ordinal);
        var container = pod["spec"]!["containers"]![0]!;
        Assert.Equal(false, (bool?)container["securityContext"]!["allowPrivilegeEscalation"]);
        Assert.Equal(true, (bool?)container["securityContext"]!["readOnlyRootFilesystem"]);
        Assert.Equal("ALL", (string?)container["securityContext"]!["capabilities"]!["drop"]![0]);
        Assert.Equal("RuntimeDefault", (string?)pod["spec"]!["securityContext"]!["seccompProfile"]!["type"]);
        Assert.Equal("/tmp", (string?)container["volumeMounts"]![0]!["mountPath"]);
        Assert.Contains("secretKeyRef", json, StringComparison.Ordinal);
        Assert.Equal("czNjcmV0", (string?)_emulator.Get("secrets", "bpi-staging", "d1-web-r1")!["data"]!["API_KEY"]);
    }

    [Fact]
    public async Task A_relaxation_the_restricted_namespace_refuses_fails_the_instance_with_the_admission_message_and_is_audited()
    {
        var component = Revision("web:1").Component with
        {
            RuntimeSettings = new Dictionary<string, string> { ["docklock.noNewPrivileges"] = "false", ["docklock.noNewPrivileges.reason"] = "setuid helper" },
        };

        await _host.Runtime.EnsureReplicasAsync(Revision("web:1") with { Component = component }, 1);

        var failed = Assert.Single(await _host.Runtime.GetInstancesAsync("d1"));
        Assert.Equal(InstanceState.Failed, failed.State);
        Assert.Contains("violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false", failed.Message, StringComparison.Ordinal);
        Assert.Contains(_host.Audit.Snapshot(), e => e.Action == "docklock.relaxation" && e.Data!["reason"] == "setuid helper" && e.Data["runtime"] == "kubernetes");
    }

    [Fact]
    public async Task Bad_options_stop_the_host_at_start_listing_every_problem()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOrchestration().AddKubernetes(o =>
        {
            o.KubeconfigPath = _temp.Combine("missing");
            o.GatewayParentRef = "a/b/c";
            o.NonRootUserId = 0;
        });
        using var host = builder.Build();

        var problems = OptionsProblems.Of(await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync()), typeof(KubernetesRuntimeOptions));

        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("KubernetesRuntimeOptions.GatewayParentRef: 'a/b/c' is not a Gateway reference; ", StringComparison.Ordinal));
    }

    private static WorkloadRevision Revision(string image) => new()
    {
        OwnerId = "vm-k8s",
        DeploymentId = "d1",
        DeploymentName = "web",
        AppId = "shop",
        Environment = "staging",
        Revision = 1,
        Component = KubernetesHost.Web(image, secrets: new Dictionary<string, string> { ["API_KEY"] = "s3cret" }).Components[0],
    };
}
