using System.Text.Json.Nodes;

namespace Bpi.Orchestration.Configuration;

/// <summary>
/// Reads the seed's deploy body (snake_case): <c>{ deployment_type, app_id, config: { deployment_name, image | command,
/// replicas, ports, environment, strategy, component_id }, resource_requirements: { cpu_cores, memory_mb, storage_gb,
/// network_bandwidth_mbps }, security_config: { encryption_level, access_control } }</c> as one component. Problems are
/// named by the seed's own fields; what a deployment needs and the seed lacks (an image or a command) is said as such.
/// </summary>
internal static class SeedMapper
{
    private static readonly string[] SeedKeys = ["deployment_type", "app_id", "config", "resource_requirements", "security_config", EncClusterMapper.Key];

    /// <summary>Whether a document is in the seed's shape: one of its fields and none of the native <c>components</c>.</summary>
    public static bool IsSeed(JsonObject document) => !document.ContainsKey("components") && SeedKeys.Any(document.ContainsKey);

    public static DeploymentSpec Map(ConfigObject c, DeploymentDocumentOptions options)
    {
        var type = c.Enum<DeploymentType>("deployment_type");
        var appId = options.AppId ?? c.String("app_id", required: true);
        var config = c.Object("config", required: true);
        var name = options.Name ?? config?.String("deployment_name", required: true);
        string? image = null;
        CommandSpec? command = null;
        var replicas = 1;
        var ports = new List<PortSpec>();
        IReadOnlyDictionary<string, string>? environment = null;
        StrategySpec? strategy = null;
        var componentId = "app";
        if (config is not null)
        {
            componentId = config.String("component_id") ?? componentId;
            image = config.String("image");
            var parts = config.Raw("command") is JsonValue ? (config.String("command") is { } single ? [single] : null) : config.StringList("command", numbers: true);
            if (parts is { Count: > 0 })
            {
                command = new CommandSpec { FileName = parts[0], Arguments = [.. parts.Skip(1)] };
                command = options.ResolveCommand?.Invoke(command) ?? command;
            }

            replicas = config.Int("replicas", 0) ?? replicas;
            foreach (var (node, path) in config.List("ports", single: true) ?? [])
            {
                var port = new ConfigObject(new JsonObject { ["port"] = node?.DeepClone() }, path, c.Errors);
                if (port.Int("port", 1, 65535) is { } p)
                {
                    ports.Add(new PortSpec { Name = ports.Count == 0 ? "http" : $"port-{p}", ContainerPort = p });
                }
            }

            environment = config.StringMap("environment");
            var strategyName = options.Strategy ?? config.String("strategy");
            if (strategyName is not null)
            {
                strategy = StrategyMapper.MapStrategy(null, strategyName, config);
            }

            config.RejectUnknown();
            if (image is null && command is null && !config.Has("image") && !config.Has("command"))
            {
                c.Errors.Add("config.image or config.command: is required; the deploy body names nothing to run: add \"image\" (a container image, e.g. \"registry/app:1.0\") or \"command\" (a program and its arguments) to config.");
            }
        }

        var infrastructure = new InfrastructureConfig { Resources = c.Object("resource_requirements") is { } r ? MapResources(r) : null, Security = MapSecurity(c.Object("security_config")) };
        var encCluster = EncClusterMapper.Map(c);
        c.RejectUnknown();
        return new DeploymentSpec
        {
            EncCluster = encCluster,
            Name = name ?? "",
            AppId = appId ?? "",
            Type = options.Type ?? type ?? DeploymentType.DockLockContainer,
            Components = [new ComponentSpec { Id = componentId, Image = image, Command = command, Replicas = replicas, Ports = ports, Environment = environment ?? new Dictionary<string, string>() }],
            Strategy = strategy ?? new RecreateStrategySpec(),
            Infrastructure = infrastructure,
        };
    }

    /// <summary>Names a problem of the SDK's checks by the seed's fields.</summary>
    public static string Translate(string problem)
    {
        (string Native, string Seed)[] fields =
        [
            ("name:", "config.deployment_name:"),
            ("appId:", "app_id:"),
            ("type:", "deployment_type:"),
            ("infrastructure.resources.cpuCores", "resource_requirements.cpu_cores"),
            ("infrastructure.resources.memoryMb", "resource_requirements.memory_mb"),
            ("infrastructure.resources.storageGb", "resource_requirements.storage_gb"),
            ("infrastructure.resources.networkBandwidthMbps", "resource_requirements.network_bandwidth_mbps"),
            ("infrastructure.security.encryptionLevel", "security_config.encryption_level"),
            ("infrastructure.security.accessControl", "security_config.access_control"),
            ("strategy (", "config.strategy ("),
            ("components[0].replicas", "config.replicas"),
        ];
        foreach (var (native, seed) in fields)
        {
            if (problem.StartsWith(native, StringComparison.Ordinal))
            {
                return seed + problem[native.Length..];
            }
        }

        // The one component: components[0] (app).replicas → config.replicas, components[0] (app).id → config.component_id.
        var component = System.Text.RegularExpressions.Regex.Match(problem, @"^components(\[0\])? \([^)]*\)");
        if (component.Success)
        {
            var rest = problem[component.Length..];
            if (rest.StartsWith(": set an image or a command", StringComparison.Ordinal))
            {
                return "config.image or config.command" + rest;
            }

            return rest.StartsWith(".id:", StringComparison.Ordinal) ? "config.component_id" + rest[3..] : "config" + rest;
        }

        return problem;
    }

    private static ResourceRequirements MapResources(ConfigObject c)
    {
        var resources = new ResourceRequirements
        {
            CpuCores = c.Number("cpu_cores", 0) ?? 0,
            MemoryMb = c.Int("memory_mb", 0) ?? 0,
            StorageGb = c.Number("storage_gb", 0) ?? 0,
            NetworkBandwidthMbps = c.Number("network_bandwidth_mbps", 0) ?? 0,
        };
        c.RejectUnknown();
        return resources;
    }

    /// <summary><c>security_config: { encryption_level, access_control }</c>; access control is a model name (<c>rbac</c>, <c>abac</c>, <c>role_based</c>) or <c>{ model, roles, attributes }</c>.</summary>
    private static SecurityConfig MapSecurity(ConfigObject? c)
    {
        var d = new SecurityConfig();
        if (c is null)
        {
            return d;
        }

        var level = c.Enum<EncryptionLevel>("encryption_level");
        var access = d.AccessControl;
        switch (c.Raw("access_control"))
        {
            case null:
                break;
            case JsonObject:
                var a = c.Object("access_control")!;
                access = new AccessControlConfig { Model = ReadModel(a, "model") ?? access.Model, Roles = a.StringList("roles") ?? access.Roles, Attributes = a.StringMap("attributes") ?? access.Attributes };
                a.RejectUnknown();
                break;
            default:
                access = access with { Model = ReadModel(c, "access_control") ?? access.Model };
                break;
        }

        c.RejectUnknown();
        return new SecurityConfig { EncryptionLevel = level ?? d.EncryptionLevel, AccessControl = access };
    }

    private static AccessControlModel? ReadModel(ConfigObject c, string field)
    {
        var text = c.String(field);
        switch (text?.ToUpperInvariant())
        {
            case null:
                return null;
            case "RBAC":
                return AccessControlModel.RoleBased;
            case "ABAC":
                return AccessControlModel.AttributeBased;
        }

        if (ConfigObject.TryParseEnum<AccessControlModel>(text, out var model))
        {
            return model;
        }

        c.Error(field, $"'{text}' is not an access-control model; use rbac (role_based) or abac (attribute_based).");
        return null;
    }
}
