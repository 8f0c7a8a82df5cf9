using System.Globalization;
using System.Text.Json;
using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security.Checks;

namespace Bpi.Orchestration.Security.Runtime;

/// <summary>
/// Reads the security-relevant fields of a container from the Docker Engine API's <c>GET /containers/{id}/json</c>
/// answer (what <c>docker inspect</c> prints; API v1.41 field names), the way docker-bench-security reads them.
/// Environment variable values are never kept — only their names.
/// </summary>
internal static class DockerInspectParser
{
    /// <summary>Parses one container's inspect JSON.</summary>
    /// <param name="json">The JSON text of one container (an object), or a one-element array as <c>docker inspect</c> prints.</param>
    /// <returns>The profile.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: not container inspect JSON.</exception>
    public static ContainerProfile Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() == 1)
            {
                root = root[0];
            }

            return Parse(root);
        }
        catch (JsonException ex)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, "The text is not docker inspect JSON; pass the output of GET /containers/{id}/json or docker inspect.", ex);
        }
    }

    /// <summary>Parses one container's inspect JSON.</summary>
    /// <param name="container">The container object.</param>
    /// <returns>The profile.</returns>
    public static ContainerProfile Parse(JsonElement container)
    {
        if (container.ValueKind != JsonValueKind.Object)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, "Container inspect JSON must be an object; pass the output of GET /containers/{id}/json.");
        }

        var config = Object(container, "Config");
        var host = Object(container, "HostConfig");
        var labels = config is { } c ? Object(c, "Labels") : null;
        var name = String(container, "Name")?.TrimStart('/') ?? "";
        var id = String(container, "Id") ?? "";
        var componentId = labels is { } l ? String(l, WorkloadLabels.Component) : null;

        var securityOptions = host is { } h1 ? Strings(h1, "SecurityOpt") : [];
        var noNewPrivileges = securityOptions.Any(o => o is "no-new-privileges" or "no-new-privileges:true" or "no-new-privileges=true");
        var seccomp = securityOptions.Any(o => o is "seccomp=unconfined" or "seccomp:unconfined") ? "unconfined" : "default";
        var appArmorTop = String(container, "AppArmorProfile") ?? "";
        string? appArmor = securityOptions.Any(o => o is "apparmor=unconfined" or "apparmor:unconfined") || appArmorTop == "unconfined"
            ? "unconfined"
            : appArmorTop.Length > 0 ? appArmorTop : null;

        var capDrop = host is { } h2 ? Strings(h2, "CapDrop").Select(DockLockEffectiveSettings.NormalizeCapability).ToList() : [];
        var capAdd = host is { } h3 ? Strings(h3, "CapAdd").Select(DockLockEffectiveSettings.NormalizeCapability).Distinct(StringComparer.Ordinal).ToList() : [];

        long nanoCpus = host is { } h4 ? Long(h4, "NanoCpus") : 0;
        long quota = host is { } h5 ? Long(h5, "CpuQuota") : 0;
        long period = host is { } h6 ? Long(h6, "CpuPeriod") : 0;
        var cpu = nanoCpus > 0 ? nanoCpus / 1e9 : quota > 0 ? quota / (double)(period > 0 ? period : 100_000) : 0;

        var restart = host is { } h7 ? Object(h7, "RestartPolicy") : null;
        var restartName = restart is { } r ? String(r, "Name") ?? "" : "";
        var retries = restart is { } r2 ? Long(r2, "MaximumRetryCount") : 0;
        if (restartName == "on-failure" && retries > 0)
        {
            restartName += ":" + retries.ToString(CultureInfo.InvariantCulture);
        }

        var healthcheck = config is { } c2 ? Object(c2, "Healthcheck") : null;
        var test = healthcheck is { } hc ? Strings(hc, "Test") : [];

        return new ContainerProfile
        {
            ComponentId = componentId ?? name,
            Source = ProfileSource.Runtime,
            ContainerId = id,
            IsContainer = true,
            Image = config is { } c3 ? String(c3, "Image") : null,
            User = config is { } c4 ? String(c4, "User") ?? "" : "",
            Privileged = host is { } h8 && Bool(h8, "Privileged"),
            AddedCapabilities = capAdd,
            DropsAllCapabilities = capDrop.Contains("ALL"),
            NoNewPrivileges = noNewPrivileges,
            ReadOnlyRootFilesystem = host is { } h9 && Bool(h9, "ReadonlyRootfs"),
            MemoryLimitBytes = host is { } h10 ? Long(h10, "Memory") : 0,
            CpuLimitCores = cpu,
            PidsLimit = host is { } h11 ? Math.Max(0, Long(h11, "PidsLimit")) : 0,
            NetworkMode = host is { } h12 ? String(h12, "NetworkMode") ?? "" : "",
            PidMode = host is { } h13 ? String(h13, "PidMode") ?? "" : "",
            IpcMode = host is { } h14 ? String(h14, "IpcMode") ?? "" : "",
            UtsMode = host is { } h15 ? String(h15, "UTSMode") ?? "" : "",
            UsernsMode = host is { } h16 ? String(h16, "UsernsMode") ?? "" : "",
            Mounts = ReadMounts(container),
            Devices = host is { } h17 ? ReadDevices(h17) : [],
            SeccompProfile = seccomp,
            AppArmorProfile = appArmor,
            PublishedPorts = ReadPorts(container, host),
            ContainerPorts = ReadContainerPorts(container, config),
            PlainEnvironmentNames = config is { } c5 ? [.. Strings(c5, "Env").Select(e => e.Split('=', 2)[0])] : [],
            HasHealthCheck = test.Count > 0 && !string.Equals(test[0], "NONE", StringComparison.Ordinal),
            RestartPolicy = restartName,
        };
    }

    private static List<ContainerMount> ReadMounts(JsonElement container)
    {
        var mounts = new List<ContainerMount>();
        if (container.TryGetProperty("Mounts", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var m in list.EnumerateArray())
            {
                var type = String(m, "Type") ?? "";
                var source = type == "volume" ? String(m, "Name") ?? String(m, "Source") ?? "" : String(m, "Source") ?? "";
                mounts.Add(new ContainerMount(type, source, String(m, "Destination") ?? "", m.TryGetProperty("RW", out var rw) && rw.ValueKind == JsonValueKind.False, String(m, "Propagation") ?? ""));
            }
        }

        return mounts;
    }

    private static List<string> ReadDevices(JsonElement host)
    {
        var devices = new List<string>();
        if (host.TryGetProperty("Devices", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            devices.AddRange(list.EnumerateArray().Select(d => String(d, "PathOnHost") ?? "?"));
        }

        return devices;
    }

    private static List<PublishedPort> ReadPorts(JsonElement container, JsonElement? host)
    {
        var ports = new List<PublishedPort>();
        var settings = Object(container, "NetworkSettings");
        JsonElement? map = settings is { } s ? Object(s, "Ports") : null;
        if (map is null || !map.Value.EnumerateObject().Any(p => p.Value.ValueKind == JsonValueKind.Array))
        {
            map = host is { } h ? Object(h, "PortBindings") : null;
        }

        if (map is not { } bindings)
        {
            return ports;
        }

        foreach (var port in bindings.EnumerateObject())
        {
            if (port.Value.ValueKind != JsonValueKind.Array || !int.TryParse(port.Name.Split('/')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var containerPort))
            {
                continue;
            }

            foreach (var binding in port.Value.EnumerateArray())
            {
                _ = int.TryParse(String(binding, "HostPort"), NumberStyles.None, CultureInfo.InvariantCulture, out var hostPort);
                ports.Add(new PublishedPort(containerPort, String(binding, "HostIp") ?? "", hostPort));
            }
        }

        return ports;
    }

    private static List<int> ReadContainerPorts(JsonElement container, JsonElement? config)
    {
        var ports = new SortedSet<int>();
        void Add(JsonElement? map)
        {
            if (map is { ValueKind: JsonValueKind.Object } m)
            {
                foreach (var p in m.EnumerateObject())
                {
                    if (int.TryParse(p.Name.Split('/')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
                    {
                        ports.Add(port);
                    }
                }
            }
        }

        Add(config is { } c ? Object(c, "ExposedPorts") : null);
        Add(Object(container, "NetworkSettings") is { } s ? Object(s, "Ports") : null);
        return [.. ports];
    }

    private static JsonElement? Object(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    private static string? String(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool Bool(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    private static long Long(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : 0;

    private static List<string> Strings(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)]
            : [];
}
