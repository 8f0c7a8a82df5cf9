using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Kubernetes.Runtime;
using Bpi.Orchestration.Runtime;
using k8s;
using k8s.Models;

namespace Bpi.Orchestration.Kubernetes.Tests.Runtime;

/// <summary>
/// Contract tests: every object the runtime writes comes back unchanged through the official client's typed models and
/// serializer (so it has no field the API's schema lacks), and carries what the restricted profile and the SDK promise.
/// </summary>
public sealed class ObjectContractTests
{
    private static readonly KubernetesRuntimeOptions Options = new();

    private static WorkloadRevision Revision(IReadOnlyDictionary<string, string>? settings = null) => new()
    {
        OwnerId = "vm-1", DeploymentId = "shop-web-1a2b3c4d", DeploymentName = "web", AppId = "shop", Environment = "staging", Revision = 3,
        Component = new ComponentSpec
        {
            Id = "web",
            Image = "registry.example/web:3",
            Replicas = 2,
            Ports = [new PortSpec { ContainerPort = 8080 }],
            Environment = new Dictionary<string, string> { ["MODE"] = "prod" },
            Secrets = new Dictionary<string, string> { ["API_KEY"] = "s3cret" },
            HealthCheck = new HealthCheckSpec { Kind = HealthCheckKind.Http, Path = "/health" },
            Autoscaling = new AutoscalingSpec { MinReplicas = 2, MaxReplicas = 5 },
            RuntimeSettings = settings ?? new Dictionary<string, string> { ["docker.volume.data"] = "/data" },
        },
    };

    [Fact]
    public void Every_object_of_a_revision_validates_against_the_clients_models_and_round_trips_through_its_serializer()
    {
        var revision = Revision();
        var docklock = DockLockEffectiveSettings.Resolve(revision.Component, new DockLockDefaults { NonRootUser = "65534:65534" });
        var deployment = KubernetesObjectBuilder.Deployment(revision, 2, docklock, Options);
        RoundTrip(KubernetesObjectBuilder.Namespace("bpi-staging"));
        RoundTrip(deployment);
        RoundTrip(KubernetesObjectBuilder.Secret(revision)!);
        RoundTrip(KubernetesObjectBuilder.Service(revision, stable: false)!);
        RoundTrip(KubernetesObjectBuilder.Service(revision, stable: true)!);
        RoundTrip(KubernetesObjectBuilder.VolumeClaim(revision, Assert.Single(docklock.Volumes), Options));
        RoundTrip(KubernetesObjectBuilder.Autoscaler(deployment, "shop-web-1a2b3c4d-web", revision.Component.Autoscaling!));
    }

    private static void RoundTrip<T>(T obj)
    {
        // Read back into the client's typed model: a field the model does not know would be dropped, and the JSON differ.
        var json = KubernetesJson.Serialize(obj);
        var read = KubernetesJson.Deserialize<T>(json);
        Assert.Equal(json, KubernetesJson.Serialize(read));
        Assert.Contains("\"name\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void The_pod_template_carries_the_restricted_profile_and_the_relaxation_reasons_but_no_secret_value()
    {
        var revision = Revision(new Dictionary<string, string> { ["docklock.readOnlyRootFilesystem"] = "false", ["docklock.readOnlyRootFilesystem.reason"] = "writes its cache" });
        var docklock = DockLockEffectiveSettings.Resolve(revision.Component, new DockLockDefaults { NonRootUser = "65534:65534" });
        var deployment = KubernetesObjectBuilder.Deployment(revision, 2, docklock, Options);
        var json = KubernetesJson.Serialize(deployment);

        var container = deployment.Spec.Template.Spec.Containers[0];
        Assert.Equal((false, "RuntimeDefault", true), (container.SecurityContext.AllowPrivilegeEscalation, container.SecurityContext.SeccompProfile.Type, container.SecurityContext.RunAsNonRoot));
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.False(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal("""{"docklock.readOnlyRootFilesystem":"writes its cache"}""", deployment.Spec.Template.Metadata.Annotations[KubernetesNaming.RelaxationReasonsAnnotation]);
        // The whole HPA spec travels with the revision; the compact form older revisions carry is still read.
        var hpa = KubernetesObjectBuilder.ParseAutoscaling(deployment.Metadata.Annotations[KubernetesNaming.AutoscalingAnnotation])!;
        Assert.Equal((2, 5, 80), (hpa.MinReplicas, hpa.MaxReplicas, hpa.Metrics.Single().Resource.Target.AverageUtilization));
        Assert.Equal(300, hpa.Behavior.ScaleDown.StabilizationWindowSeconds);
        var legacy = KubernetesObjectBuilder.ParseAutoscaling("2:5:80")!;
        Assert.Equal((2, 5, 80), (legacy.MinReplicas, legacy.MaxReplicas, legacy.Metrics.Single().Resource.Target.AverageUtilization));
        Assert.DoesNotContain("s3cret", json, StringComparison.Ordinal);
    }
}
