using System.Globalization;
using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Runtime;
using k8s.Models;

namespace Bpi.Orchestration.Kubernetes.Runtime;

/// <summary>
/// The objects of one component revision: its Deployment (DockLock as the Pod Security Standards' <c>restricted</c>
/// securityContext, resources, probes, ports, environment with secrets by reference), its Secret, its volumes' claims
/// and its Services. Pure functions of the revision and the options, so they can be checked against the client's models.
/// </summary>
internal static class KubernetesObjectBuilder
{
    public const string ContainerName = "app";
    public const string TmpVolume = "tmp";

    public static V1Namespace Namespace(string name) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = new Dictionary<string, string>
            {
                [KubernetesNaming.ManagedByLabel] = KubernetesNaming.ManagedBy,
                [KubernetesNaming.PodSecurityEnforceLabel] = "restricted",
                ["pod-security.kubernetes.io/enforce-version"] = "latest",
            },
        },
    };

    public static V1Secret? Secret(WorkloadRevision revision)
    {
        if (revision.Component.Secrets.Count == 0)
        {
            return null;
        }

        return new V1Secret
        {
            Metadata = Metadata(revision, KubernetesNaming.RevisionName(revision.DeploymentId, revision.Component.Id, revision.Revision)),
            Type = "Opaque",
            Data = revision.Component.Secrets.ToDictionary(s => s.Key, s => System.Text.Encoding.UTF8.GetBytes(s.Value), StringComparer.Ordinal),
        };
    }

    public static V1PersistentVolumeClaim VolumeClaim(WorkloadRevision revision, DockLockVolume volume, KubernetesRuntimeOptions options)
    {
        var metadata = Metadata(revision, KubernetesNaming.VolumeClaimName(revision.DeploymentId, revision.Component.Id, volume.Name));

        // A claim outlives revisions: it belongs to the deployment and component, not to one revision.
        metadata.Labels.Remove(WorkloadLabels.Revision);
        metadata.Labels.Remove(KubernetesNaming.VersionLabel);
        metadata.Annotations.Remove(WorkloadLabels.Revision);
        return new V1PersistentVolumeClaim
        {
            Metadata = metadata,
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                StorageClassName = options.StorageClassName,
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(options.VolumeSize) } },
            },
        };
    }

    /// <summary>The Service selecting one revision's pods (a Gateway backend), or every revision of the component (<paramref name="stable"/>).</summary>
    public static V1Service? Service(WorkloadRevision revision, bool stable)
    {
        var ports = revision.Component.Ports;
        if (ports.Count == 0)
        {
            return null;
        }

        var name = stable ? KubernetesNaming.ComponentName(revision.DeploymentId, revision.Component.Id) : KubernetesNaming.RevisionName(revision.DeploymentId, revision.Component.Id, revision.Revision);
        var metadata = Metadata(revision, name);
        var selector = KubernetesNaming.SelectorLabels(revision.DeploymentId, revision.Component.Id, revision.Revision);
        if (stable)
        {
            selector.Remove(WorkloadLabels.Revision);
            metadata.Labels.Remove(WorkloadLabels.Revision);
            metadata.Labels.Remove(KubernetesNaming.VersionLabel);
            metadata.Annotations.Remove(WorkloadLabels.Revision);
        }

        metadata.Labels[KubernetesNaming.ServiceRoleLabel] = stable ? "stable" : "revision";
        return new V1Service
        {
            Metadata = metadata,
            Spec = new V1ServiceSpec
            {
                Type = "ClusterIP",
                Selector = selector,
                Ports = [.. ports.Select(p => new V1ServicePort { Name = PortName(p.Name), Port = p.ContainerPort, TargetPort = p.ContainerPort, Protocol = Protocol(p) })],
            },
        };
    }

    public static V1Deployment Deployment(WorkloadRevision revision, int replicas, DockLockEffectiveSettings docklock, KubernetesRuntimeOptions options)
    {
        var component = revision.Component;
        var name = KubernetesNaming.RevisionName(revision.DeploymentId, component.Id, revision.Revision);
        var metadata = Metadata(revision, name);
        metadata.Annotations[KubernetesNaming.RelaxationsAnnotation] = docklock.Relaxations.Count == 0 ? "none" : string.Join(',', docklock.Relaxations.Select(r => r.Setting));
        if (docklock.Relaxations.Count > 0)
        {
            // The reasons travel with the pods, so whoever inspects a pod (the Security package) can say why it is relaxed.
            var reasons = new System.Text.Json.Nodes.JsonObject();
            foreach (var relaxation in docklock.Relaxations)
            {
                reasons[relaxation.Setting] = relaxation.Reason;
            }

            metadata.Annotations[KubernetesNaming.RelaxationReasonsAnnotation] = reasons.ToJsonString();
        }

        if (component.Autoscaling is { } autoscaling)
        {
            // The whole HPA spec (bounds, metrics, behaviour) travels with the revision, so the HPA of the serving revision is
            // rebuilt from the Deployment alone.
            metadata.Annotations[KubernetesNaming.AutoscalingAnnotation] = k8s.KubernetesJson.Serialize(AutoscalerSpec(autoscaling, revision.DeploymentId, component.Id));
        }
        var (user, group) = User(docklock, options);

        var env = new List<V1EnvVar>();
        env.AddRange(component.Environment.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new V1EnvVar { Name = e.Key, Value = e.Value }));
        env.AddRange(component.Secrets.Keys.Order(StringComparer.Ordinal).Select(key => new V1EnvVar
        {
            Name = key,
            ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = name, Key = key } },
        }));

        var mounts = new List<V1VolumeMount>();
        var volumes = new List<V1Volume>();
        if (docklock.ReadOnlyRootFilesystem)
        {
            mounts.Add(new V1VolumeMount { Name = TmpVolume, MountPath = "/tmp" });
            volumes.Add(new V1Volume { Name = TmpVolume, EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity(options.TmpSizeMb.ToString(CultureInfo.InvariantCulture) + "Mi") } });
        }

        foreach (var volume in docklock.Volumes)
        {
            var volumeName = "v-" + KubernetesNaming.VolumeClaimName("x", "x", volume.Name)[4..];
            mounts.Add(new V1VolumeMount { Name = volumeName, MountPath = volume.Target, ReadOnlyProperty = volume.ReadOnly });
            volumes.Add(new V1Volume
            {
                Name = volumeName,
                PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = KubernetesNaming.VolumeClaimName(revision.DeploymentId, component.Id, volume.Name), ReadOnlyProperty = volume.ReadOnly },
            });
        }

        var quantities = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(Math.Max(1, (int)Math.Round(component.Resources.CpuCores * 1000)).ToString(CultureInfo.InvariantCulture) + "m"),
            ["memory"] = new(component.Resources.MemoryMb.ToString(CultureInfo.InvariantCulture) + "Mi"),
        };
        var container = new V1Container
        {
            Name = ContainerName,
            Image = component.Image,
            Command = component.Command is { } command ? [command.FileName] : null,
            Args = component.Command is { Arguments.Count: > 0 } withArgs ? [.. withArgs.Arguments] : null,
            WorkingDir = component.Command?.WorkingDirectory,
            Env = env.Count == 0 ? null : env,
            Ports = component.Ports.Count == 0 ? null : [.. component.Ports.Select(p => new V1ContainerPort { Name = PortName(p.Name), ContainerPort = p.ContainerPort, Protocol = Protocol(p) })],
            Resources = new V1ResourceRequirements { Requests = quantities, Limits = docklock.EnforceResourceLimits ? new Dictionary<string, ResourceQuantity>(quantities) : null },
            VolumeMounts = mounts.Count == 0 ? null : mounts,
            ReadinessProbe = Probe(component, readiness: true),
            LivenessProbe = Probe(component, readiness: false),
            SecurityContext = new V1SecurityContext
            {
                AllowPrivilegeEscalation = !docklock.NoNewPrivileges,
                Privileged = false,
                ReadOnlyRootFilesystem = docklock.ReadOnlyRootFilesystem,
                RunAsNonRoot = docklock.RequireNonRootUser ? true : null,
                RunAsUser = user,
                RunAsGroup = group,
                Capabilities = new V1Capabilities
                {
                    Drop = docklock.DropAllCapabilities ? ["ALL"] : null,
                    Add = docklock.AddCapabilities.Count > 0 ? [.. docklock.AddCapabilities] : null,
                },
                SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
            },
        };

        var selector = KubernetesNaming.SelectorLabels(revision.DeploymentId, component.Id, revision.Revision);
        selector[KubernetesNaming.ManagedByLabel] = KubernetesNaming.ManagedBy;
        return new V1Deployment
        {
            Metadata = metadata,
            Spec = new V1DeploymentSpec
            {
                Replicas = replicas,
                Selector = new V1LabelSelector { MatchLabels = selector },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(metadata.Labels), Annotations = new Dictionary<string, string>(metadata.Annotations) },
                    Spec = new V1PodSpec
                    {
                        Containers = [container],
                        Volumes = volumes.Count == 0 ? null : volumes,
                        AutomountServiceAccountToken = false,
                        EnableServiceLinks = false,
                        SecurityContext = new V1PodSecurityContext
                        {
                            RunAsNonRoot = docklock.RequireNonRootUser ? true : null,
                            RunAsUser = user,
                            RunAsGroup = group,
                            FsGroup = volumes.Count > 0 ? group ?? user : null,
                            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                        },
                    },
                },
            },
        };
    }

    /// <summary>The HPA of a component, on its serving revision's Deployment <paramref name="serving"/>.</summary>
    public static V2HorizontalPodAutoscaler Autoscaler(V1Deployment serving, string name, AutoscalingSpec autoscaling)
        => Autoscaler(serving, name, AutoscalerSpec(autoscaling, KubernetesNaming.Value(serving.Metadata.Annotations, WorkloadLabels.Deployment) ?? "", KubernetesNaming.Value(serving.Metadata.Annotations, WorkloadLabels.Component) ?? ""));

    /// <summary>The HPA of a component from the spec its serving revision's Deployment <paramref name="serving"/> carries (without its target).</summary>
    public static V2HorizontalPodAutoscaler Autoscaler(V1Deployment serving, string name, V2HorizontalPodAutoscalerSpec spec)
    {
        // The HPA follows the component from revision to revision: it carries the component's labels, not a revision's.
        var labels = new Dictionary<string, string>(serving.Metadata.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        labels.Remove(WorkloadLabels.Revision);
        labels.Remove(KubernetesNaming.VersionLabel);
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in new[] { WorkloadLabels.Owner, WorkloadLabels.Deployment, WorkloadLabels.Component })
        {
            if (KubernetesNaming.Value(serving.Metadata.Annotations, key) is { } value)
            {
                annotations[key] = value;
            }
        }

        spec.ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = serving.Metadata.Name };
        return new V2HorizontalPodAutoscaler
        {
            ApiVersion = "autoscaling/v2",
            Kind = "HorizontalPodAutoscaler",
            Metadata = new V1ObjectMeta { Name = name, Labels = labels, Annotations = annotations },
            Spec = spec,
        };
    }

    /// <summary>
    /// An <c>autoscaling/v2</c> HPA spec (without its target) for an <see cref="AutoscalingSpec"/>: the CPU and memory
    /// utilisation targets as <c>Resource</c> metrics, each custom metric as an <c>External</c> metric of its name (with
    /// an <c>AverageValue</c> or <c>Value</c> target, selected by the deployment and component labels: the cluster's
    /// external metrics adapter, such as prometheus-adapter, must serve it under that name), the tolerance-free
    /// behaviour (stabilisation windows, select policies, rate policies) of both directions.
    /// </summary>
    public static V2HorizontalPodAutoscalerSpec AutoscalerSpec(AutoscalingSpec autoscaling, string deploymentId, string componentId)
    {
        var metrics = new List<V2MetricSpec>();
        if (autoscaling.EffectiveCpuUtilizationPercent is { } cpu)
        {
            metrics.Add(new V2MetricSpec { Type = "Resource", Resource = new V2ResourceMetricSource { Name = "cpu", Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = cpu } } });
        }

        if (autoscaling.TargetMemoryUtilizationPercent is { } memory)
        {
            metrics.Add(new V2MetricSpec { Type = "Resource", Resource = new V2ResourceMetricSource { Name = "memory", Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = memory } } });
        }

        foreach (var metric in autoscaling.Metrics)
        {
            var target = metric.TargetAverageValue is { } average
                ? new V2MetricTarget { Type = "AverageValue", AverageValue = Quantity(average) }
                : new V2MetricTarget { Type = "Value", Value = Quantity(metric.TargetValue!.Value) };
            var selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [WorkloadLabels.Deployment] = deploymentId, [WorkloadLabels.Component] = componentId } };
            metrics.Add(new V2MetricSpec { Type = "External", External = new V2ExternalMetricSource { Metric = new V2MetricIdentifier { Name = metric.Name, Selector = selector }, Target = target } });
        }

        return new V2HorizontalPodAutoscalerSpec
        {
            MinReplicas = autoscaling.MinReplicas,
            MaxReplicas = autoscaling.MaxReplicas,
            Metrics = metrics,
            Behavior = new V2HorizontalPodAutoscalerBehavior { ScaleUp = Rules(autoscaling.ScaleUp), ScaleDown = Rules(autoscaling.ScaleDown) },
        };
    }

    private static V2HPAScalingRules Rules(AutoscalingRules rules) => new()
    {
        StabilizationWindowSeconds = (int)rules.StabilizationWindow.TotalSeconds,
        SelectPolicy = rules.SelectPolicy.ToString(),
        Policies = [.. rules.Policies.Select(p => new V2HPAScalingPolicy { Type = p.Type.ToString(), Value = p.Value, PeriodSeconds = (int)p.Period.TotalSeconds })],
    };

    /// <summary>A Kubernetes quantity: whole numbers as they are, fractions in thousandths (<c>500m</c>).</summary>
    private static ResourceQuantity Quantity(double value)
        => new(value == Math.Floor(value) && value < long.MaxValue
            ? ((long)value).ToString(CultureInfo.InvariantCulture)
            : Math.Round(value * 1000).ToString("0", CultureInfo.InvariantCulture) + "m");

    /// <summary>
    /// Reads <see cref="KubernetesNaming.AutoscalingAnnotation"/>: the HPA spec as JSON, or <c>min:max:cpu</c> as written
    /// before the spec travelled whole; <see langword="null"/> when absent or unreadable.
    /// </summary>
    public static V2HorizontalPodAutoscalerSpec? ParseAutoscaling(string? text, string deploymentId = "", string componentId = "")
    {
        if (text is { Length: > 0 } && text[0] == '{')
        {
            try
            {
                return k8s.KubernetesJson.Deserialize<V2HorizontalPodAutoscalerSpec>(text);
            }
            catch (System.Text.Json.JsonException)
            {
                return null;
            }
        }

        var parts = text?.Split(':') ?? [];
        return parts.Length == 3
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var min)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var max)
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var cpu)
            ? AutoscalerSpec(new AutoscalingSpec { MinReplicas = min, MaxReplicas = max, TargetCpuUtilizationPercent = cpu }, deploymentId, componentId)
            : null;
    }

    /// <summary>Whether an HPA already has what <paramref name="desired"/> sets (fields the API server adds by default are not compared).</summary>
    public static bool SameAutoscaling(V2HorizontalPodAutoscaler current, V2HorizontalPodAutoscaler desired)
        => current.Spec is not null
            && Covers(System.Text.Json.Nodes.JsonNode.Parse(k8s.KubernetesJson.Serialize(desired.Spec)), System.Text.Json.Nodes.JsonNode.Parse(k8s.KubernetesJson.Serialize(current.Spec)));

    /// <summary>Whether <paramref name="actual"/> has every value of <paramref name="expected"/> (objects may hold more properties).</summary>
    private static bool Covers(System.Text.Json.Nodes.JsonNode? expected, System.Text.Json.Nodes.JsonNode? actual) => (expected, actual) switch
    {
        (null, _) => true,
        (System.Text.Json.Nodes.JsonObject e, System.Text.Json.Nodes.JsonObject a) => e.All(p => Covers(p.Value, a[p.Key])),
        (System.Text.Json.Nodes.JsonArray e, System.Text.Json.Nodes.JsonArray a) => e.Count == a.Count && e.Zip(a).All(x => Covers(x.First, x.Second)),
        _ => System.Text.Json.Nodes.JsonNode.DeepEquals(expected, actual),
    };

    /// <summary>The numeric user and group: the component's <c>docklock.user</c>, else the options' non-root user while non-root is required.</summary>
    public static (long? User, long? Group) User(DockLockEffectiveSettings docklock, KubernetesRuntimeOptions options)
    {
        if (docklock.User is { } text)
        {
            var parts = text.Split(':', 2);
            if (!long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
                || (parts.Length == 2 && !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                throw OrchestrationException.InvalidConfiguration(
                    "DockLock settings on Kubernetes",
                    [$"RuntimeSettings['{DockLockSettings.User}'] is '{text}'; Kubernetes runs containers as a numeric uid[:gid] (runAsUser/runAsGroup), not a user name."]);
            }

            return (uid, parts.Length == 2 ? long.Parse(parts[1], CultureInfo.InvariantCulture) : uid);
        }

        return docklock.RequireNonRootUser ? (options.NonRootUserId, options.NonRootUserId) : (null, null);
    }

    private static V1Probe? Probe(ComponentSpec component, bool readiness)
    {
        if (component.HealthCheck is not { } check)
        {
            return null;
        }

        var port = check.Port ?? (component.Ports.Count > 0 ? component.Ports[0].ContainerPort : null);
        var probe = new V1Probe
        {
            InitialDelaySeconds = (int)check.InitialDelay.TotalSeconds,
            PeriodSeconds = Math.Max(1, (int)check.Period.TotalSeconds),
            TimeoutSeconds = Math.Max(1, (int)Math.Ceiling(check.Timeout.TotalSeconds)),
            FailureThreshold = check.FailureThreshold,
            SuccessThreshold = readiness ? check.SuccessThreshold : 1,
        };
        switch (check.Kind)
        {
            case HealthCheckKind.Http when port is not null:
                probe.HttpGet = new V1HTTPGetAction
                {
                    Path = check.Path,
                    Port = port.Value,
                    HttpHeaders = check.Headers.Count == 0 ? null : [.. check.Headers.Select(h => new V1HTTPHeader { Name = h.Key, Value = h.Value })],
                };
                break;
            case HealthCheckKind.Tcp when port is not null:
                probe.TcpSocket = new V1TCPSocketAction { Port = port.Value };
                break;
            case HealthCheckKind.Grpc when port is not null:
                probe.Grpc = new V1GRPCAction { Port = port.Value, Service = check.GrpcService };
                break;
            case HealthCheckKind.Exec when check.Command.Count > 0:
                probe.Exec = new V1ExecAction { Command = [.. check.Command] };
                break;
            default:
                return null;
        }

        return probe;
    }

    private static V1ObjectMeta Metadata(WorkloadRevision revision, string name) => new()
    {
        Name = name,
        Labels = KubernetesNaming.Labels(revision),
        Annotations = KubernetesNaming.Annotations(revision),
    };

    private static string PortName(string name) => name.Length <= 15 ? name.ToLowerInvariant() : name[..15].ToLowerInvariant();

    private static string Protocol(PortSpec port) => port.Protocol == PortProtocol.Udp ? "UDP" : "TCP";
}
