using System.Globalization;
using System.Text.Json;
using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security.Checks;

namespace Bpi.Orchestration.Security.Runtime;

/// <summary>
/// Reads the security-relevant fields of a Kubernetes <c>v1</c> Pod (what <c>kubectl get pod -o json</c> prints; the
/// runtime's <see cref="WorkloadInspection.KubernetesEngine"/> documents) into one <see cref="ContainerProfile"/> per
/// container, so the same checks judge pods and Docker containers: the Pod Security Standards' <em>restricted</em>
/// securityContext is what DockLock means on Kubernetes — <c>runAsNonRoot</c>/<c>runAsUser</c> (non-root),
/// <c>allowPrivilegeEscalation: false</c> (no-new-privileges), <c>capabilities.drop: [ALL]</c>,
/// <c>seccompProfile: RuntimeDefault</c>, <c>readOnlyRootFilesystem</c>. A container's settings override the pod's, as
/// in Kubernetes; an unset seccomp profile is <c>Unconfined</c> (the kubelet's default). The PIDs limit is a kubelet
/// setting, not in the pod: it stays unknown (its check does not apply). Environment variable values are never kept —
/// only the names of plain ones (those from a Secret are not plain).
/// </summary>
internal static class PodDocumentParser
{
    /// <summary>The annotation the Kubernetes runtime writes the component id into (its label may be shortened).</summary>
    private const string ComponentAnnotation = WorkloadLabels.Component;

    /// <summary>The annotation of the Kubernetes runtime holding each DockLock relaxation's reason (a JSON object).</summary>
    private const string ReasonsAnnotation = WorkloadLabels.Prefix + "docklock-reasons";

    /// <summary>Parses one pod's JSON.</summary>
    /// <param name="json">The Pod object.</param>
    /// <returns>One profile per container, in the pod's order.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: not a Pod object.</exception>
    public static IReadOnlyList<ContainerProfile> Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            return Parse(document.RootElement);
        }
        catch (JsonException ex)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, "The text is not a Kubernetes Pod object; pass the output of kubectl get pod -o json.", ex);
        }
    }

    /// <summary>Parses one pod.</summary>
    /// <param name="pod">The Pod object.</param>
    /// <returns>One profile per container.</returns>
    public static IReadOnlyList<ContainerProfile> Parse(JsonElement pod)
    {
        if (pod.ValueKind != JsonValueKind.Object || Object(pod, "spec") is not { } spec || !spec.TryGetProperty("containers", out var containers) || containers.ValueKind != JsonValueKind.Array)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, "A Kubernetes Pod document must be an object with spec.containers; pass the output of kubectl get pod -o json.");
        }

        var metadata = Object(pod, "metadata");
        var annotations = metadata is { } m1 ? Object(m1, "annotations") : null;
        var labels = metadata is { } m2 ? Object(m2, "labels") : null;
        var podName = metadata is { } m3 ? String(m3, "name") ?? "" : "";
        var uid = metadata is { } m4 ? String(m4, "uid") : null;
        var componentId = (annotations is { } a1 ? String(a1, ComponentAnnotation) : null) ?? (labels is { } l ? String(l, WorkloadLabels.Component) : null) ?? podName;
        var reasons = ReadReasons(annotations);
        var podContext = Object(spec, "securityContext");
        var volumes = ReadVolumes(spec);
        var statuses = ReadContainerIds(pod);
        var hostNetwork = Bool(spec, "hostNetwork") == true;

        var profiles = new List<ContainerProfile>();
        var first = true;
        foreach (var container in containers.EnumerateArray())
        {
            var name = String(container, "name") ?? "";
            var context = Object(container, "securityContext");
            var user = Long(context, "runAsUser") ?? Long(podContext, "runAsUser");
            var group = Long(context, "runAsGroup") ?? Long(podContext, "runAsGroup");
            var nonRoot = Bool(context, "runAsNonRoot") ?? Bool(podContext, "runAsNonRoot") ?? false;
            var capabilities = context is { } c1 ? Object(c1, "capabilities") : null;
            var resources = Object(container, "resources");
            var limits = resources is { } r ? Object(r, "limits") : null;
            profiles.Add(new ContainerProfile
            {
                ComponentId = first ? componentId : componentId + "/" + name,
                Source = ProfileSource.Runtime,
                ContainerId = statuses.GetValueOrDefault(name) ?? uid,
                IsContainer = true,
                Image = String(container, "image"),
                User = user is { } u
                    ? (group is { } g ? string.Create(CultureInfo.InvariantCulture, $"{u}:{g}") : u.ToString(CultureInfo.InvariantCulture))
                    : nonRoot ? "(the image's user; runAsNonRoot refuses root)" : "",
                Privileged = Bool(context, "privileged") == true,
                AddedCapabilities = capabilities is { } ca ? [.. Strings(ca, "add").Select(DockLockEffectiveSettings.NormalizeCapability).Distinct(StringComparer.Ordinal)] : [],
                DropsAllCapabilities = capabilities is { } cd && Strings(cd, "drop").Select(DockLockEffectiveSettings.NormalizeCapability).Contains("ALL"),
                // Kubernetes allows privilege escalation unless the container says false.
                NoNewPrivileges = Bool(context, "allowPrivilegeEscalation") == false,
                ReadOnlyRootFilesystem = Bool(context, "readOnlyRootFilesystem") == true,
                MemoryLimitBytes = limits is { } lm && String(lm, "memory") is { } memory && TryQuantity(memory, out var bytes) ? (long)bytes : 0,
                CpuLimitCores = limits is { } lc && String(lc, "cpu") is { } cpu && TryQuantity(cpu, out var cores) ? (double)cores : 0,
                PidsLimit = null,
                NetworkMode = hostNetwork ? "host" : "pod",
                PidMode = Bool(spec, "hostPID") == true ? "host" : "",
                IpcMode = Bool(spec, "hostIPC") == true ? "host" : "private",
                UtsMode = hostNetwork ? "host" : "",
                UsernsMode = Bool(spec, "hostUsers") == false ? "pod" : "",
                Mounts = ReadMounts(container, volumes),
                Devices = [],
                SeccompProfile = Seccomp(context is { } c2 ? Object(c2, "seccompProfile") : null) ?? Seccomp(podContext is { } p1 ? Object(p1, "seccompProfile") : null) ?? "unconfined",
                AppArmorProfile = AppArmor(context is { } c3 ? Object(c3, "appArmorProfile") : null)
                    ?? AppArmor(podContext is { } p2 ? Object(p2, "appArmorProfile") : null)
                    ?? (annotations is { } a2 && String(a2, "container.apparmor.security.beta.kubernetes.io/" + name) is { } legacy ? LegacyAppArmor(legacy) : ""),
                PublishedPorts = [.. Ports(container).Where(p => Long(p, "hostPort") is > 0).Select(p => new PublishedPort((int)(Long(p, "containerPort") ?? 0), String(p, "hostIP") ?? "", (int)Long(p, "hostPort")!.Value))],
                ContainerPorts = [.. Ports(container).Select(p => (int)(Long(p, "containerPort") ?? 0)).Where(p => p > 0).Distinct().Order()],
                PlainEnvironmentNames = ReadPlainEnvironment(container),
                HasHealthCheck = Object(container, "readinessProbe") is not null || Object(container, "livenessProbe") is not null || Object(container, "startupProbe") is not null,
                RestartPolicy = (String(spec, "restartPolicy") ?? "Always") switch
                {
                    "Always" => "always",
                    "OnFailure" => "on-failure",
                    "Never" => "no",
                    var other => other,
                },
                RelaxationReasons = reasons,
            });
            first = false;
        }

        return profiles;
    }

    /// <summary>Parses a Kubernetes quantity (<c>128Mi</c>, <c>1G</c>, <c>250m</c>, <c>0.5</c>, <c>1e3</c>).</summary>
    internal static bool TryQuantity(string text, out decimal value)
    {
        value = 0;
        var suffixes = new (string Suffix, decimal Factor)[]
        {
            ("Ki", 1024m), ("Mi", 1024m * 1024), ("Gi", 1024m * 1024 * 1024), ("Ti", 1024m * 1024 * 1024 * 1024), ("Pi", 1024m * 1024 * 1024 * 1024 * 1024), ("Ei", 1024m * 1024 * 1024 * 1024 * 1024 * 1024),
            ("n", 0.000000001m), ("u", 0.000001m), ("m", 0.001m), ("k", 1e3m), ("M", 1e6m), ("G", 1e9m), ("T", 1e12m), ("P", 1e15m), ("E", 1e18m),
        };
        text = text.Trim();
        var factor = 1m;
        foreach (var (suffix, f) in suffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) && text.Length > suffix.Length)
            {
                text = text[..^suffix.Length];
                factor = f;
                break;
            }
        }

        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var number) || number < 0)
        {
            return false;
        }

        value = number * factor;
        return true;
    }

    private static string? Seccomp(JsonElement? profile) => profile is { } p
        ? String(p, "type") switch
        {
            "RuntimeDefault" => "default",
            "Unconfined" => "unconfined",
            "Localhost" => String(p, "localhostProfile") ?? "localhost",
            null => null,
            var other => other,
        }
        : null;

    private static string? AppArmor(JsonElement? profile) => profile is { } p
        ? String(p, "type") switch
        {
            "RuntimeDefault" => "default",
            "Unconfined" => "unconfined",
            "Localhost" => String(p, "localhostProfile") ?? "localhost",
            null => null,
            var other => other,
        }
        : null;

    private static string LegacyAppArmor(string value)
        => value switch
        {
            "unconfined" => "unconfined",
            "runtime/default" => "default",
            _ when value.StartsWith("localhost/", StringComparison.Ordinal) => value["localhost/".Length..],
            _ => value,
        };

    private static Dictionary<string, string>? ReadReasons(JsonElement? annotations)
    {
        if (annotations is not { } a || String(a, ReasonsAnnotation) is not { } text)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Each volume by name: its mount type and source (hostPath → bind of the host path; claims, emptyDirs and others → volumes).</summary>
    private static Dictionary<string, (string Type, string Source)> ReadVolumes(JsonElement spec)
    {
        var volumes = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        if (spec.TryGetProperty("volumes", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var volume in list.EnumerateArray())
            {
                var name = String(volume, "name") ?? "";
                volumes[name] = Object(volume, "hostPath") is { } host ? ("bind", String(host, "path") ?? "")
                    : Object(volume, "persistentVolumeClaim") is { } claim ? ("volume", String(claim, "claimName") ?? name)
                    : Object(volume, "emptyDir") is { } empty ? (String(empty, "medium") == "Memory" ? "tmpfs" : "volume", name)
                    : ("volume", name);
            }
        }

        return volumes;
    }

    private static List<ContainerMount> ReadMounts(JsonElement container, Dictionary<string, (string Type, string Source)> volumes)
    {
        var mounts = new List<ContainerMount>();
        if (container.TryGetProperty("volumeMounts", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var mount in list.EnumerateArray())
            {
                var (type, source) = volumes.GetValueOrDefault(String(mount, "name") ?? "", ("volume", String(mount, "name") ?? ""));
                var propagation = String(mount, "mountPropagation") switch
                {
                    "Bidirectional" => "rshared",
                    "HostToContainer" => "rslave",
                    _ => "",
                };
                mounts.Add(new ContainerMount(type, source, String(mount, "mountPath") ?? "", Bool(mount, "readOnly") == true, propagation));
            }
        }

        return mounts;
    }

    private static Dictionary<string, string> ReadContainerIds(JsonElement pod)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Object(pod, "status") is { } status && status.TryGetProperty("containerStatuses", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var s in list.EnumerateArray())
            {
                if (String(s, "name") is { } name && String(s, "containerID") is { Length: > 0 } id)
                {
                    ids[name] = id;
                }
            }
        }

        return ids;
    }

    private static List<string> ReadPlainEnvironment(JsonElement container)
    {
        var names = new List<string>();
        if (container.TryGetProperty("env", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            names.AddRange(list.EnumerateArray().Where(e => Object(e, "valueFrom") is null && String(e, "name") is not null).Select(e => String(e, "name")!));
        }

        return names;
    }

    private static List<JsonElement> Ports(JsonElement container)
        => container.TryGetProperty("ports", out var list) && list.ValueKind == JsonValueKind.Array ? [.. list.EnumerateArray()] : [];

    private static JsonElement? Object(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    private static string? String(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool? Bool(JsonElement? element, string name)
        => element is { } e && e.TryGetProperty(name, out var value) ? value.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => null } : null;

    private static long? Long(JsonElement? element, string name)
        => element is { } e && e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    private static List<string> Strings(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)]
            : [];
}
