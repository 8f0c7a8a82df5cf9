using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Bpi.Orchestration.Hardening;

namespace Bpi.Orchestration.Configuration.Compose;

/// <summary>Maps a compose tree onto a <see cref="DeploymentSpec"/>, collecting malformed values and keys it cannot honour separately.</summary>
internal sealed partial class ComposeReader
{
    private static readonly HashSet<string> TopLevelKeys = new(StringComparer.Ordinal) { "version", "name", "services", "networks", "volumes" };

    private readonly List<string> _errors = [];
    private readonly List<string> _unsupported = [];
    private readonly Func<string, string?> _lookup;
    private readonly string _baseDirectory;
    private readonly string _source;
    private HashSet<string> _declaredVolumes = new(StringComparer.Ordinal);

    private ComposeReader(Func<string, string?> lookup, string baseDirectory, string source)
    {
        _lookup = lookup;
        _baseDirectory = baseDirectory;
        _source = source;
    }

    internal static string Subject(string source) => $"Compose file '{source}'";

    public static (DeploymentSpec Spec, IReadOnlyList<string> Warnings) Read(string text, ComposeOptions options, string source, string baseDirectory, string? defaultName, IReadOnlyDictionary<string, string>? dotEnv)
    {
        IReadOnlyDictionary<string, string> environment = options.Environment ?? ProcessEnvironment();
        string? Lookup(string name) => environment.TryGetValue(name, out var value) ? value : dotEnv is not null && dotEnv.TryGetValue(name, out var fromFile) ? fromFile : null;

        JsonNode? tree;
        try
        {
            tree = YamlJson.Parse(text, json: false, source);
        }
        catch (OrchestrationException e) when (e.Errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration(Subject(source), e.Errors);
        }

        var reader = new ComposeReader(Lookup, baseDirectory, source);
        var spec = reader.Map(tree, options, defaultName);
        var problems = new List<string>(reader._errors);
        if (options.Strict)
        {
            problems.AddRange(reader._unsupported);
        }

        if (spec is not null && reader._errors.Count == 0)
        {
            // The spec names a component by place and id (`components[0] (db).replicas`); the file's reader knows it as a service.
            ProblemList.AddSpecProblems(problems, spec.Validate().Select(p => SpecComponent().Replace(p, m => "services." + m.Groups["id"].Value)).ToList());
        }

        if (problems.Count > 0 || spec is null)
        {
            throw OrchestrationException.InvalidConfiguration(Subject(source), problems.Count > 0 ? problems : ["the file describes no deployment."]);
        }

        return (spec, options.Strict ? [] : reader._unsupported.Select(u => "dropped " + u).ToList());
    }

    private static Dictionary<string, string> ProcessEnvironment()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value)
            {
                variables[key] = value;
            }
        }

        return variables;
    }

    private void Error(string path, string problem) => _errors.Add($"{path}: {problem}");

    private void Unsupported(string path, string why) => _unsupported.Add($"{path}: {why}");

    private DeploymentSpec? Map(JsonNode? tree, ComposeOptions options, string? defaultName)
    {
        if (tree is not JsonObject root)
        {
            _errors.Add($"the file must be a mapping with a 'services' section, not {ConfigObject.Describe(tree)}.");
            return null;
        }

        foreach (var (key, _) in root)
        {
            if (!TopLevelKeys.Contains(key) && !key.StartsWith("x-", StringComparison.Ordinal))
            {
                Unsupported(key, $"the top-level '{key}' section is not supported (supported: services, networks, volumes, name, and x- extensions).");
            }
        }

        var name = options.Name ?? Text(root["name"], "name") ?? SanitizeName(defaultName);
        ReadNetworks(root["networks"]);
        ReadVolumes(root["volumes"]);

        if (root["services"] is not JsonObject services || services.Count == 0)
        {
            Error("services", root["services"] is null ? "is required: a compose file needs at least one service." : $"must be a mapping of services, not {ConfigObject.Describe(root["services"])}.");
            return null;
        }

        var components = new List<ComponentSpec>();
        var serviceNetworks = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var healthGated = new List<(string Path, string Dependency)>();
        foreach (var (serviceName, node) in services)
        {
            var path = "services." + serviceName;
            if (node is not JsonObject service)
            {
                Error(path, $"must be a mapping, not {ConfigObject.Describe(node)}.");
                continue;
            }

            if (!DnsLabel().IsMatch(serviceName))
            {
                Error(path, "the service name must be lowercase letters, digits and '-', starting with a letter, at most 63 characters (it becomes the component's id and its host name).");
            }

            if (ReadService(serviceName, service, path, serviceNetworks, healthGated) is { } component)
            {
                components.Add(component);
            }
        }

        CheckNetworks(serviceNetworks);
        foreach (var (path, dependency) in healthGated)
        {
            if (components.FirstOrDefault(c => c.Id == dependency) is { HealthCheck: null })
            {
                Error(path, $"waits for '{dependency}' to be healthy, but '{dependency}' has no healthcheck.");
            }
        }

        var ordered = Order(components);
        if (name is null)
        {
            Error("name", "the deployment needs a name: set 'name' in the file or give one.");
            return null;
        }

        return new DeploymentSpec
        {
            Name = name,
            AppId = options.AppId ?? name,
            Environment = options.DeploymentEnvironment ?? new DeploymentSpec { Name = name, AppId = name }.Environment,
            Type = DeploymentType.DockLockContainer,
            Components = ordered,
        };
    }

    private static string? SanitizeName(string? directory)
    {
        if (string.IsNullOrEmpty(directory))
        {
            return null;
        }

        var cleaned = new StringBuilder();
        foreach (var c in directory.ToLowerInvariant())
        {
            cleaned.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }

        var text = cleaned.ToString().Trim('-');
        while (text.Length > 0 && !char.IsAsciiLetter(text[0]))
        {
            text = text[1..];
        }

        text = text.Length > 63 ? text[..63].TrimEnd('-') : text;
        return text.Length == 0 ? null : text;
    }

    private void ReadNetworks(JsonNode? node)
    {
        if (node is null)
        {
            return;
        }

        if (node is not JsonObject networks)
        {
            Error("networks", $"must be a mapping of networks, not {ConfigObject.Describe(node)}.");
            return;
        }

        foreach (var (name, definition) in networks)
        {
            if (definition is null)
            {
                continue;
            }

            if (definition is not JsonObject settings)
            {
                Error("networks." + name, $"must be a mapping, not {ConfigObject.Describe(definition)}.");
                continue;
            }

            foreach (var (key, value) in settings)
            {
                if (key == "driver" && Text(value, $"networks.{name}.driver") is "bridge" or null)
                {
                    continue;
                }

                if (!key.StartsWith("x-", StringComparison.Ordinal))
                {
                    Unsupported($"networks.{name}.{key}", "network settings are not supported: every deployment gets its own bridge network, created and removed with it.");
                }
            }
        }
    }

    private void ReadVolumes(JsonNode? node)
    {
        if (node is null)
        {
            return;
        }

        if (node is not JsonObject volumes)
        {
            Error("volumes", $"must be a mapping of volumes, not {ConfigObject.Describe(node)}.");
            return;
        }

        foreach (var (name, definition) in volumes)
        {
            _declaredVolumes.Add(name);
            if (!VolumeName().IsMatch(name))
            {
                Error("volumes." + name, "a volume name must be lowercase letters, digits, '_', '.' and '-', starting with a letter or digit, at most 63 characters.");
            }

            if (definition is null)
            {
                continue;
            }

            if (definition is not JsonObject settings)
            {
                Error("volumes." + name, $"must be a mapping, not {ConfigObject.Describe(definition)}.");
                continue;
            }

            foreach (var (key, value) in settings)
            {
                if (key == "driver" && Text(value, $"volumes.{name}.driver") is "local" or null)
                {
                    continue;
                }

                if (!key.StartsWith("x-", StringComparison.Ordinal))
                {
                    Unsupported($"volumes.{name}.{key}", "volume settings are not supported: a deployment's volumes are local volumes created on first use and removed with the deployment.");
                }
            }
        }
    }

    private ComponentSpec? ReadService(string id, JsonObject service, string path, Dictionary<string, IReadOnlyList<string>> serviceNetworks, List<(string, string)> healthGated)
    {
        var image = Text(service["image"], path + ".image");
        if (image is null && service["image"] is null)
        {
            if (service.ContainsKey("build"))
            {
                Error(path + ".image", "is required: the orchestrator deploys images and does not build them; build and push the image, then name it here.");
            }
            else
            {
                Error(path + ".image", "is required.");
            }
        }

        List<string>? entrypoint = null;
        List<string>? command = null;
        string? workingDir = null;
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var ports = new List<PortSpec>();
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        var dependsOn = new List<string>();
        HealthCheckSpec? health = null;
        var replicas = 1;
        var resources = new ComponentResources();
        var restart = RestartPolicySpec.Always;
        Dictionary<string, string>? environmentEntries = null;

        foreach (var (key, value) in service)
        {
            var at = path + "." + key;
            switch (key)
            {
                case "image":
                    break;
                case "command":
                    command = CommandLine(value, at);
                    break;
                case "entrypoint":
                    entrypoint = CommandLine(value, at);
                    break;
                case "working_dir":
                    workingDir = Text(value, at);
                    break;
                case "environment":
                    environmentEntries = Environment(value, at);
                    break;
                case "env_file":
                    foreach (var (name, variable) in EnvFiles(value, at))
                    {
                        environment[name] = variable;
                    }

                    break;
                case "ports":
                    Ports(value, at, ports);
                    break;
                case "expose":
                    // Every service of a deployment shares one network, so its ports are reachable by the others already.
                    foreach (var (item, itemPath) in Items(value, at))
                    {
                        _ = Text(item, itemPath);
                    }

                    break;
                case "volumes":
                    Volumes(value, at, settings);
                    break;
                case "networks":
                    serviceNetworks[id] = Networks(value, at);
                    break;
                case "depends_on":
                    DependsOn(value, at, dependsOn, healthGated);
                    break;
                case "healthcheck":
                    health = HealthCheck(value, at);
                    break;
                case "deploy":
                    Deploy(value, at, ref replicas, ref resources, ref restart);
                    break;
                case "restart":
                    restart = Restart(value, at) ?? restart;
                    break;
                case "user":
                    if (Text(value, at) is { } user)
                    {
                        settings[DockLockSettings.User] = user;
                    }

                    break;
                case "cap_add":
                    var capabilities = Items(value, at).Select(i => Text(i.Node, i.Path)).OfType<string>().ToList();
                    if (capabilities.Count > 0)
                    {
                        settings[DockLockSettings.AddCapabilities] = string.Join(',', capabilities);
                    }

                    break;
                case "build":
                    if (service["image"] is not null)
                    {
                        Unsupported(at, "the orchestrator deploys images and does not build them; the image named by 'image' is used as it is.");
                    }

                    break;
                default:
                    if (!key.StartsWith("x-", StringComparison.Ordinal))
                    {
                        Unsupported(at, $"'{key}' is not supported by the orchestrator.");
                    }

                    break;
            }
        }

        if (environmentEntries is not null)
        {
            foreach (var (name, variable) in environmentEntries)
            {
                environment[name] = variable; // `environment` wins over `env_file`, as in Compose.
            }
        }

        CommandSpec? commandSpec = null;
        var line = (entrypoint ?? []).Concat(command ?? []).ToList();
        if (entrypoint is { Count: 0 } && command is null or { Count: 0 })
        {
            Error(path + ".entrypoint", "an empty entry point with no command leaves nothing to run.");
        }
        else if (line.Count > 0)
        {
            commandSpec = new CommandSpec { FileName = line[0], Arguments = line[1..], WorkingDirectory = workingDir };
        }
        else if (workingDir is not null)
        {
            Unsupported(path + ".working_dir", "a working directory is only honoured together with 'command' or 'entrypoint'.");
        }

        if (image is null)
        {
            return null;
        }

        return new ComponentSpec
        {
            Id = id,
            Image = image,
            Command = commandSpec,
            Replicas = replicas,
            Resources = resources,
            Ports = ports,
            Environment = environment,
            HealthCheck = health,
            Restart = restart,
            DependsOn = dependsOn,
            RuntimeSettings = settings,
        };
    }

    private List<string>? CommandLine(JsonNode? value, string path)
    {
        if (value is null)
        {
            return null;
        }

        if (value is JsonArray)
        {
            return Items(value, path).Select(i => Text(i.Node, i.Path) ?? "").ToList();
        }

        if (Text(value, path) is not { } text)
        {
            return null;
        }

        var words = ShellWords(text, out var problem);
        if (problem is not null)
        {
            Error(path, problem);
        }

        return words;
    }

    /// <summary>Splits a command string as Compose does (POSIX shell words: quotes and backslashes, no expansion).</summary>
    internal static List<string> ShellWords(string text, out string? problem)
    {
        problem = null;
        var words = new List<string>();
        var current = new StringBuilder();
        var inWord = false;
        char quote = '\0';
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote == '\'')
            {
                if (c == '\'')
                {
                    quote = '\0';
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (quote == '"')
            {
                if (c == '"')
                {
                    quote = '\0';
                }
                else if (c == '\\' && i + 1 < text.Length && text[i + 1] is '"' or '\\' or '$' or '`')
                {
                    current.Append(text[++i]);
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else
            {
                inWord = true;
                if (c is '\'' or '"')
                {
                    quote = c;
                }
                else if (c == '\\' && i + 1 < text.Length)
                {
                    current.Append(text[++i]);
                }
                else
                {
                    current.Append(c);
                }
            }
        }

        if (quote != '\0')
        {
            problem = $"'{text}' has an unclosed {quote} quote.";
        }

        if (inWord)
        {
            words.Add(current.ToString());
        }

        return words;
    }

    private Dictionary<string, string>? Environment(JsonNode? value, string path)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        if (value is JsonObject map)
        {
            foreach (var (name, entry) in map)
            {
                if (entry is null)
                {
                    if (_lookup(name) is { } inherited)
                    {
                        variables[name] = inherited;
                    }

                    continue;
                }

                if (Text(entry, $"{path}.{name}") is { } text)
                {
                    variables[name] = text;
                }
            }
        }
        else if (value is JsonArray)
        {
            foreach (var (item, itemPath) in Items(value, path))
            {
                if (Text(item, itemPath) is not { } text)
                {
                    continue;
                }

                var equals = text.IndexOf('=', StringComparison.Ordinal);
                if (equals == 0)
                {
                    Error(itemPath, $"'{text}' is not NAME=VALUE.");
                }
                else if (equals < 0)
                {
                    if (_lookup(text) is { } inherited)
                    {
                        variables[text] = inherited;
                    }
                }
                else
                {
                    variables[text[..equals]] = text[(equals + 1)..];
                }
            }
        }
        else if (value is not null)
        {
            Error(path, $"must be a mapping or a list of NAME=VALUE, not {ConfigObject.Describe(value)}.");
        }

        return variables;
    }

    private Dictionary<string, string> EnvFiles(JsonNode? value, string path)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = value is JsonArray ? Items(value, path) : [(value, path)];
        foreach (var (entry, entryPath) in entries)
        {
            string? file;
            var required = true;
            if (entry is JsonObject longForm)
            {
                file = Text(longForm["path"], entryPath + ".path");
                if (longForm["required"] is { } requiredNode)
                {
                    required = requiredNode is JsonValue v && v.GetValueKind() == JsonValueKind.False ? false : required;
                }
            }
            else
            {
                file = Text(entry, entryPath);
            }

            if (file is null)
            {
                continue;
            }

            var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(_baseDirectory, file));
            if (!File.Exists(full))
            {
                if (required)
                {
                    Error(entryPath, $"the env file {full} does not exist.");
                }

                continue;
            }

            try
            {
                var text = ComposeFiles.ReadTextAsync(full, _source, "the env file", CancellationToken.None).GetAwaiter().GetResult();
                foreach (var (name, variable) in ComposeFiles.ParseEnvFile(text, entryPath, _errors))
                {
                    variables[name] = variable;
                }
            }
            catch (OrchestrationException e)
            {
                _errors.Add($"{entryPath}: {string.Join(" ", e.Errors)}");
            }
        }

        return variables;
    }

    private void Ports(JsonNode? value, string path, List<PortSpec> ports)
    {
        foreach (var (item, itemPath) in Items(value, path))
        {
            int? target = null;
            string? published = null;
            string? hostIp = null;
            var protocol = PortProtocol.Tcp;
            if (item is JsonObject longForm)
            {
                target = PortNumber(Text(longForm["target"], itemPath + ".target"), itemPath + ".target");
                published = Text(longForm["published"], itemPath + ".published");
                hostIp = Text(longForm["host_ip"], itemPath + ".host_ip");
                protocol = Protocol(Text(longForm["protocol"], itemPath + ".protocol"), itemPath + ".protocol") ?? protocol;
                foreach (var (key, _) in longForm)
                {
                    if (key is not ("target" or "published" or "host_ip" or "protocol" or "mode"))
                    {
                        Unsupported($"{itemPath}.{key}", $"'{key}' is not supported for a port.");
                    }
                }
            }
            else if (Text(item, itemPath) is { } text)
            {
                var slash = text.LastIndexOf('/');
                if (slash >= 0)
                {
                    protocol = Protocol(text[(slash + 1)..], itemPath) ?? protocol;
                    text = text[..slash];
                }

                var parts = text.Split(':');
                target = PortNumber(parts[^1], itemPath);
                if (parts.Length >= 2)
                {
                    published = parts[^2];
                }

                if (parts.Length >= 3)
                {
                    hostIp = string.Join(':', parts[..^2]);
                }
            }

            if (!string.IsNullOrEmpty(published) || !string.IsNullOrEmpty(hostIp))
            {
                Unsupported(itemPath, $"a fixed host address or port ({hostIp}{(hostIp is null ? "" : ":")}{published}) is not supported: each instance publishes the container port on a free port of the runtime's publish address (127.0.0.1 by default), listed by 'status'; only the container port is used.");
            }

            if (target is { } port)
            {
                var name = protocol == PortProtocol.Udp ? $"udp-{port}" : ports.Count == 0 ? "http" : $"tcp-{port}";
                if (ports.Any(p => p.ContainerPort == port && p.Protocol == protocol))
                {
                    continue; // the same container port published twice (several host ports) is one port here.
                }

                ports.Add(new PortSpec { Name = name, ContainerPort = port, Protocol = protocol });
            }
        }
    }

    private int? PortNumber(string? text, string path)
    {
        if (text is null)
        {
            Error(path, "needs a container port.");
            return null;
        }

        if (text.Contains('-', StringComparison.Ordinal))
        {
            Unsupported(path, $"the port range '{text}' is not supported; list each port.");
            return null;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535)
        {
            return port;
        }

        Error(path, $"'{text}' is not a port (1-65535).");
        return null;
    }

    private PortProtocol? Protocol(string? text, string path) => text switch
    {
        null => null,
        "tcp" => PortProtocol.Tcp,
        "udp" => PortProtocol.Udp,
        _ => Fail<PortProtocol?>(path, $"'{text}' is not a protocol; use tcp or udp."),
    };

    private T? Fail<T>(string path, string problem)
    {
        Error(path, problem);
        return default;
    }

    private void Volumes(JsonNode? value, string path, Dictionary<string, string> settings)
    {
        foreach (var (item, itemPath) in Items(value, path))
        {
            string? source;
            string? target;
            var readOnly = false;
            if (item is JsonObject longForm)
            {
                var type = Text(longForm["type"], itemPath + ".type") ?? "volume";
                source = Text(longForm["source"], itemPath + ".source");
                target = Text(longForm["target"], itemPath + ".target");
                readOnly = longForm["read_only"] is JsonValue ro && ro.GetValueKind() == JsonValueKind.True;
                if (type != "volume")
                {
                    Unsupported(itemPath, $"a '{type}' mount is not supported; only named volumes are (a deployment's volumes are created on first use and removed with it).");
                    continue;
                }

                foreach (var (key, _) in longForm)
                {
                    if (key is not ("type" or "source" or "target" or "read_only"))
                    {
                        Unsupported($"{itemPath}.{key}", $"'{key}' is not supported for a volume.");
                    }
                }
            }
            else if (Text(item, itemPath) is { } text)
            {
                var parts = text.Split(':');
                if (parts.Length == 1)
                {
                    Unsupported(itemPath, $"the anonymous volume '{text}' is not supported; name it (name:{text}) and declare it under the top-level 'volumes'.");
                    continue;
                }

                source = parts[0];
                target = parts[1];
                if (parts.Length >= 3)
                {
                    foreach (var option in parts[2].Split(','))
                    {
                        if (option == "ro")
                        {
                            readOnly = true;
                        }
                        else if (option != "rw")
                        {
                            Unsupported(itemPath, $"the volume option '{option}' is not supported (ro and rw are).");
                        }
                    }
                }
            }
            else
            {
                continue;
            }

            if (source is null || source.Length == 0)
            {
                Unsupported(itemPath, "an anonymous volume is not supported; give it a name declared under the top-level 'volumes'.");
                continue;
            }

            if (source[0] is '.' or '/' or '~' || source.Contains('/', StringComparison.Ordinal))
            {
                Unsupported(itemPath, $"the bind mount of the host path '{source}' is not supported: DockLock containers only mount the deployment's named volumes.");
                continue;
            }

            if (target is null || !target.StartsWith('/'))
            {
                Error(itemPath, $"'{target}' is not an absolute path in the container.");
                continue;
            }

            if (!_declaredVolumes.Contains(source))
            {
                Error(itemPath, $"the volume '{source}' is not declared under the top-level 'volumes'.");
                continue;
            }

            settings[DockLockSettings.VolumePrefix + source] = target + (readOnly ? ":ro" : "");
        }
    }

    private List<string> Networks(JsonNode? value, string path)
    {
        var names = new List<string>();
        if (value is JsonObject map)
        {
            foreach (var (name, settings) in map)
            {
                names.Add(name);
                if (settings is JsonObject { Count: > 0 } details)
                {
                    foreach (var (key, _) in details)
                    {
                        Unsupported($"{path}.{name}.{key}", $"'{key}' is not supported: every service is reachable on its deployment's network by its service name.");
                    }
                }
            }
        }
        else
        {
            names.AddRange(Items(value, path).Select(i => Text(i.Node, i.Path)).OfType<string>());
        }

        return names;
    }

    /// <summary>
    /// A deployment's services share one network, reachable by service name. Networks that only name that (every
    /// service can reach every other through some shared network) are honoured; isolation between services is not.
    /// </summary>
    private void CheckNetworks(Dictionary<string, IReadOnlyList<string>> serviceNetworks)
    {
        if (serviceNetworks.Count == 0)
        {
            return;
        }

        var all = serviceNetworks.Values.SelectMany(n => n).Distinct(StringComparer.Ordinal).ToList();
        foreach (var (service, networks) in serviceNetworks)
        {
            if (all.Count > 1 && networks.Count < all.Count)
            {
                Unsupported($"services.{service}.networks", $"joining only {string.Join(", ", networks)} of the networks {string.Join(", ", all)} asks for isolation the orchestrator does not provide: every service of a deployment shares one network.");
            }
        }
    }

    private void DependsOn(JsonNode? value, string path, List<string> dependsOn, List<(string, string)> healthGated)
    {
        if (value is JsonObject map)
        {
            foreach (var (name, settings) in map)
            {
                dependsOn.Add(name);
                if (settings is not JsonObject details)
                {
                    continue;
                }

                foreach (var (key, setting) in details)
                {
                    var at = $"{path}.{name}.{key}";
                    if (key == "condition")
                    {
                        switch (Text(setting, at))
                        {
                            case "service_started" or null:
                                break;
                            case "service_healthy":
                                healthGated.Add((at, name));
                                break;
                            case "service_completed_successfully":
                                Unsupported(at, "'service_completed_successfully' is not supported: components are long-running services; run one-off jobs outside the deployment.");
                                break;
                            case var other:
                                Error(at, $"'{other}' is not a condition; use service_started or service_healthy.");
                                break;
                        }
                    }
                    else if (key is not ("required" or "restart"))
                    {
                        Unsupported(at, $"'{key}' is not supported in depends_on.");
                    }
                }
            }
        }
        else
        {
            dependsOn.AddRange(Items(value, path).Select(i => Text(i.Node, i.Path)).OfType<string>());
        }
    }

    private HealthCheckSpec? HealthCheck(JsonNode? value, string path)
    {
        if (value is not JsonObject settings)
        {
            Error(path, $"must be a mapping, not {ConfigObject.Describe(value)}.");
            return null;
        }

        if (settings["disable"] is JsonValue disable && disable.GetValueKind() == JsonValueKind.True)
        {
            return null;
        }

        List<string>? command = null;
        var timeoutGiven = false;
        var spec = new HealthCheckSpec { Kind = HealthCheckKind.Exec, Period = TimeSpan.FromSeconds(30), Timeout = TimeSpan.FromSeconds(30), FailureThreshold = 3 };
        foreach (var (key, setting) in settings)
        {
            var at = path + "." + key;
            switch (key)
            {
                case "test":
                    if (setting is JsonArray)
                    {
                        var words = Items(setting, at).Select(i => Text(i.Node, i.Path) ?? "").ToList();
                        switch (words.FirstOrDefault())
                        {
                            case "NONE":
                                return null;
                            case "CMD" when words.Count > 1:
                                command = words[1..];
                                break;
                            case "CMD-SHELL" when words.Count == 2:
                                command = ["/bin/sh", "-c", words[1]];
                                break;
                            default:
                                Error(at, "must be [\"CMD\", program, args...], [\"CMD-SHELL\", \"command\"], [\"NONE\"] or a shell command string.");
                                break;
                        }
                    }
                    else if (Text(setting, at) is { } shell)
                    {
                        command = ["/bin/sh", "-c", shell];
                    }

                    break;
                case "interval":
                    spec = spec with { Period = Duration(setting, at) ?? spec.Period };
                    break;
                case "timeout":
                    timeoutGiven = true;
                    spec = spec with { Timeout = Duration(setting, at) ?? spec.Timeout };
                    break;
                case "start_period":
                    spec = spec with { InitialDelay = Duration(setting, at) ?? spec.InitialDelay };
                    break;
                case "retries":
                    spec = spec with { FailureThreshold = Integer(setting, at, 1) ?? spec.FailureThreshold };
                    break;
                case "disable":
                    break;
                default:
                    Unsupported(at, $"'{key}' is not supported in a healthcheck.");
                    break;
            }
        }

        if (spec.Timeout > spec.Period && !timeoutGiven)
        {
            // Compose's default timeout (30 s) with a shorter interval the file gives: the probe ends by the next one.
            spec = spec with { Timeout = spec.Period };
        }
        else if (spec.Timeout > spec.Period)
        {
            Unsupported(path + ".timeout", $"a timeout ({spec.Timeout:c}) longer than the interval ({spec.Period:c}) is not supported: a probe must end before the next one starts; the interval is used as the timeout.");
            spec = spec with { Timeout = spec.Period };
        }

        if (command is null)
        {
            Error(path + ".test", "is required (the image's own HEALTHCHECK is not read).");
            return null;
        }

        return spec with { Command = command };
    }

    private void Deploy(JsonNode? value, string path, ref int replicas, ref ComponentResources resources, ref RestartPolicySpec restart)
    {
        if (value is not JsonObject deploy)
        {
            Error(path, $"must be a mapping, not {ConfigObject.Describe(value)}.");
            return;
        }

        foreach (var (key, setting) in deploy)
        {
            var at = path + "." + key;
            switch (key)
            {
                case "replicas":
                    replicas = Integer(setting, at, 0) ?? replicas;
                    break;
                case "mode":
                    if (Text(setting, at) is { } mode and not "replicated")
                    {
                        Unsupported(at, $"the mode '{mode}' is not supported; services are replicated.");
                    }

                    break;
                case "resources" when setting is JsonObject resourceSettings:
                    foreach (var (kind, amounts) in resourceSettings)
                    {
                        if (kind != "limits")
                        {
                            Unsupported($"{at}.{kind}", $"'{kind}' is not supported: DockLock applies the limits as the component's reserved and enforced resources.");
                            continue;
                        }

                        if (amounts is not JsonObject limits)
                        {
                            Error($"{at}.limits", $"must be a mapping, not {ConfigObject.Describe(amounts)}.");
                            continue;
                        }

                        foreach (var (limit, amount) in limits)
                        {
                            var limitPath = $"{at}.limits.{limit}";
                            if (limit == "cpus")
                            {
                                var cpus = Text(amount, limitPath);
                                if (cpus is not null && double.TryParse(cpus, NumberStyles.Float, CultureInfo.InvariantCulture, out var cores) && cores > 0 && double.IsFinite(cores))
                                {
                                    resources = resources with { CpuCores = cores };
                                }
                                else if (cpus is not null)
                                {
                                    Error(limitPath, $"'{cpus}' is not a positive number of CPUs.");
                                }
                            }
                            else if (limit == "memory")
                            {
                                if (Text(amount, limitPath) is { } memory)
                                {
                                    if (TryParseBytes(memory, out var bytes) && bytes > 0 && bytes / (1024 * 1024) is var mb && mb is >= 1 and <= int.MaxValue)
                                    {
                                        resources = resources with { MemoryMb = (int)mb };
                                    }
                                    else
                                    {
                                        Error(limitPath, $"'{memory}' is not an amount of memory of at least 1 MB (for example 512m or 1g).");
                                    }
                                }
                            }
                            else
                            {
                                Unsupported(limitPath, $"the '{limit}' limit is not supported (cpus and memory are).");
                            }
                        }
                    }

                    break;
                case "resources":
                    Error(at, $"must be a mapping, not {ConfigObject.Describe(setting)}.");
                    break;
                case "restart_policy" when setting is JsonObject policy:
                    var condition = Text(policy["condition"], at + ".condition") ?? "any";
                    var maxAttempts = policy["max_attempts"] is { } attempts ? Integer(attempts, at + ".max_attempts", 0) : null;
                    restart = condition switch
                    {
                        "none" => RestartPolicySpec.Never,
                        "on-failure" => RestartPolicySpec.OnFailure(maxAttempts),
                        "any" => RestartPolicySpec.Always,
                        _ => Fail<RestartPolicySpec>(at + ".condition", $"'{condition}' is not a condition; use none, on-failure or any.") ?? restart,
                    };
                    foreach (var (policyKey, _) in policy)
                    {
                        if (policyKey is not ("condition" or "max_attempts"))
                        {
                            Unsupported($"{at}.{policyKey}", $"'{policyKey}' is not supported: failed instances are replaced with Kubernetes' crash-loop back-off.");
                        }
                    }

                    break;
                default:
                    Unsupported(at, $"'{key}' is not supported in deploy (replicas, resources.limits and restart_policy are).");
                    break;
            }
        }
    }

    private RestartPolicySpec? Restart(JsonNode? value, string path)
    {
        var text = value is JsonValue v && v.GetValueKind() == JsonValueKind.False ? "no" : Text(value, path);
        switch (text)
        {
            case null:
                return null;
            case "no":
                return RestartPolicySpec.Never;
            case "always" or "unless-stopped":
                return RestartPolicySpec.Always;
            default:
                try
                {
                    return RestartPolicySpec.Parse(text);
                }
                catch (OrchestrationException)
                {
                    Error(path, $"'{text}' is not a restart policy; use no, always, unless-stopped, on-failure or on-failure:N.");
                    return null;
                }
        }
    }

    internal static bool TryParseBytes(string text, out long bytes)
    {
        bytes = 0;
        var match = ByteAmount().Match(text.Trim());
        if (!match.Success || !double.TryParse(match.Groups["amount"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        var scale = char.ToLowerInvariant(match.Groups["unit"].Value.FirstOrDefault('b')) switch
        {
            'k' => 1024d,
            'm' => 1024d * 1024,
            'g' => 1024d * 1024 * 1024,
            't' => 1024d * 1024 * 1024 * 1024,
            _ => 1d,
        };
        var total = amount * scale;
        if (!double.IsFinite(total) || total >= long.MaxValue)
        {
            return false;
        }

        bytes = (long)total;
        return true;
    }

    /// <summary>A duration as Compose writes it (Go's format): <c>1m30s</c>, <c>10s</c>, <c>500ms</c>, <c>1h</c>, <c>2us</c>.</summary>
    internal static bool TryParseGoDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var matches = GoDurationPart().Matches(text.Trim());
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)) != text.Trim())
        {
            return false;
        }

        double ticks = 0;
        foreach (Match match in matches)
        {
            var amount = double.Parse(match.Groups["amount"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            ticks += amount * match.Groups["unit"].Value switch
            {
                "h" => TimeSpan.TicksPerHour,
                "m" => TimeSpan.TicksPerMinute,
                "s" => TimeSpan.TicksPerSecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "us" or "µs" => TimeSpan.TicksPerMicrosecond,
                _ => 0.01,
            };
        }

        if (ticks >= TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)ticks);
        return true;
    }

    private TimeSpan? Duration(JsonNode? value, string path)
    {
        var text = Text(value, path);
        if (text is null)
        {
            return null;
        }

        if (TryParseGoDuration(text, out var duration))
        {
            return duration;
        }

        Error(path, $"'{text}' is not a duration (for example 30s, 1m30s or 500ms).");
        return null;
    }

    private int? Integer(JsonNode? value, string path, int min)
    {
        var text = Text(value, path);
        if (text is null)
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min)
        {
            return number;
        }

        Error(path, $"'{text}' is not a whole number of at least {min}.");
        return null;
    }

    /// <summary>The entries of a list (a single scalar counts as a one-entry list), each with its path.</summary>
    private List<(JsonNode? Node, string Path)> Items(JsonNode? value, string path)
    {
        if (value is null)
        {
            return [];
        }

        if (value is JsonArray array)
        {
            return array.Select((node, index) => (node, string.Create(CultureInfo.InvariantCulture, $"{path}[{index}]"))).ToList();
        }

        if (value is JsonValue)
        {
            return [(value, path)];
        }

        Error(path, $"must be a list, not {ConfigObject.Describe(value)}.");
        return [];
    }

    /// <summary>A scalar's text (numbers and booleans as written), interpolated; a problem for a list or mapping.</summary>
    private string? Text(JsonNode? value, string path)
    {
        if (value is null)
        {
            return null;
        }

        if (value is not JsonValue scalar)
        {
            Error(path, $"must be a single value, not {ConfigObject.Describe(value)}.");
            return null;
        }

        var text = scalar.GetValueKind() switch
        {
            JsonValueKind.String => scalar.GetValue<string>(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => scalar.ToJsonString(),
        };
        return ComposeInterpolation.Interpolate(text, _lookup, path, _errors);
    }

    /// <summary>Components in dependency order (a dependency before its dependents, file order otherwise); unknown dependencies and cycles are problems.</summary>
    private List<ComponentSpec> Order(List<ComponentSpec> components)
    {
        var byId = components.ToDictionary(c => c.Id, StringComparer.Ordinal);
        foreach (var component in components)
        {
            foreach (var dependency in component.DependsOn)
            {
                if (!byId.ContainsKey(dependency))
                {
                    Error($"services.{component.Id}.depends_on", $"'{dependency}' is not a service of this file.");
                }
                else if (dependency == component.Id)
                {
                    Error($"services.{component.Id}.depends_on", "a service cannot depend on itself.");
                }
            }
        }

        var ordered = new List<ComponentSpec>(components.Count);
        var placed = new HashSet<string>(StringComparer.Ordinal);
        while (ordered.Count < components.Count)
        {
            var next = components.FirstOrDefault(c => !placed.Contains(c.Id) && c.DependsOn.All(d => placed.Contains(d) || !byId.ContainsKey(d) || d == c.Id));
            if (next is null)
            {
                var cycle = components.Where(c => !placed.Contains(c.Id)).Select(c => c.Id);
                Error("services", $"the depends_on of {string.Join(", ", cycle)} form a cycle.");
                ordered.AddRange(components.Where(c => !placed.Contains(c.Id)));
                break;
            }

            ordered.Add(next);
            placed.Add(next.Id);
        }

        return ordered;
    }

    [GeneratedRegex(@"^components\[\d+\] \((?<id>[^)]*)\)", RegexOptions.CultureInvariant)]
    private static partial Regex SpecComponent();

    [GeneratedRegex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex VolumeName();

    [GeneratedRegex(@"^(?<amount>\d+(\.\d+)?)\s*(?<unit>[bkmgtBKMGT])?[bB]?$", RegexOptions.CultureInvariant)]
    private static partial Regex ByteAmount();

    [GeneratedRegex(@"(?<amount>\d+(\.\d+)?)(?<unit>h|ms|m|s|us|µs|ns)", RegexOptions.CultureInvariant)]
    private static partial Regex GoDurationPart();
}
