using System.Globalization;

namespace Bpi.Orchestration.Security.Checks;

/// <summary>
/// The settings the Docker runtime (DockLock) applies when a spec does not say otherwise. The Security package does not
/// depend on the Docker runtime, so it reads the same <see cref="ComponentSpec.RuntimeSettings"/> keys
/// (<c>docklock.*</c>, <c>docker.*</c>) and assumes these defaults; set them to match the runtime's options.
/// </summary>
public sealed class DockLockAssumptions
{
    /// <summary>The address ports are published on (the Docker runtime's <c>PublishAddress</c>).</summary>
    /// <value>The default value is <c>127.0.0.1</c>.</value>
    public string PublishAddress { get; set; } = "127.0.0.1";

    /// <summary>The user a container runs as while non-root is required and the image names none (the Docker runtime's <c>NonRootUser</c>).</summary>
    /// <value>The default value is <c>65534:65534</c>.</value>
    public string NonRootUser { get; set; } = "65534:65534";

    /// <summary>The PIDs limit (the Docker runtime's <c>DefaultPidsLimit</c>).</summary>
    /// <value>The default value is 256.</value>
    public int DefaultPidsLimit { get; set; } = 256;

    /// <summary>The restart policy (the Docker runtime's <c>DefaultRestartPolicy</c>).</summary>
    /// <value>The default value is <c>no</c>.</value>
    public string DefaultRestartPolicy { get; set; } = "no";
}

/// <summary>Builds <see cref="ContainerProfile"/>s from specs.</summary>
public static class ContainerProfiles
{
    /// <summary>The <see cref="ComponentSpec.RuntimeSettings"/> keys of DockLock the profile reads (the same strings as the Docker runtime's <c>DockLockSettings</c>).</summary>
    public static class Keys
    {
        /// <summary><c>docklock.noNewPrivileges</c>.</summary>
        public const string NoNewPrivileges = "docklock.noNewPrivileges";

        /// <summary><c>docklock.dropAllCapabilities</c>.</summary>
        public const string DropAllCapabilities = "docklock.dropAllCapabilities";

        /// <summary><c>docklock.capAdd</c>.</summary>
        public const string AddCapabilities = "docklock.capAdd";

        /// <summary><c>docklock.readOnlyRootFilesystem</c>.</summary>
        public const string ReadOnlyRootFilesystem = "docklock.readOnlyRootFilesystem";

        /// <summary><c>docklock.nonRootUser</c>.</summary>
        public const string NonRootUser = "docklock.nonRootUser";

        /// <summary><c>docklock.user</c>.</summary>
        public const string User = "docklock.user";

        /// <summary><c>docklock.pidsLimit</c>.</summary>
        public const string PidsLimit = "docklock.pidsLimit";

        /// <summary><c>docklock.resourceLimits</c>.</summary>
        public const string ResourceLimits = "docklock.resourceLimits";

        /// <summary><c>docker.restartPolicy</c>.</summary>
        public const string RestartPolicy = "docker.restartPolicy";

        /// <summary><c>docker.volume.</c>, the prefix of named volumes.</summary>
        public const string VolumePrefix = "docker.volume.";

        /// <summary><c>.reason</c>, appended to a key to give the reason of a relaxation.</summary>
        public const string ReasonSuffix = ".reason";
    }

    /// <summary>
    /// The effective settings of one component of a spec: the DockLock defaults (no new privileges, all capabilities
    /// dropped, read-only root, non-root user, PIDs, CPU and memory limits, ports on <see cref="DockLockAssumptions.PublishAddress"/>)
    /// with the component's explicit relaxations applied. A component without an image (a local process) is not a container.
    /// </summary>
    /// <param name="component">The component.</param>
    /// <param name="assumptions">The runtime defaults; <see langword="null"/> for the Docker runtime's own defaults.</param>
    /// <returns>The profile.</returns>
    public static ContainerProfile FromSpec(ComponentSpec component, DockLockAssumptions? assumptions = null)
    {
        ArgumentNullException.ThrowIfNull(component);
        assumptions ??= new DockLockAssumptions();
        var settings = component.RuntimeSettings;
        var servesHttp = component.Ports.Any(p => p.Name.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            || component.HealthCheck is { Kind: HealthCheckKind.Http };
        var common = new ContainerProfile
        {
            ComponentId = component.Id,
            Source = ProfileSource.Spec,
            IsContainer = component.Image is not null,
            Image = component.Image,
            PlainEnvironmentNames = [.. component.Environment.Keys],
            HasHealthCheck = component.HealthCheck is not null,
            ServesHttp = servesHttp,
            ContainerPorts = [.. component.Ports.Select(p => p.ContainerPort)],
        };
        if (component.Image is null)
        {
            return common;
        }

        bool Flag(string key) => !settings.TryGetValue(key, out var text) || !bool.TryParse(text.Trim(), out var value) || value;

        var nonRoot = Flag(Keys.NonRootUser);
        settings.TryGetValue(Keys.User, out var user);
        user = string.IsNullOrWhiteSpace(user) ? null : user.Trim();
        string? userNote = null;
        if (user is null)
        {
            if (nonRoot)
            {
                user = assumptions.NonRootUser;
            }
            else
            {
                user = "";
                userNote = "docklock.nonRootUser is relaxed"
                    + (settings.TryGetValue(Keys.NonRootUser + Keys.ReasonSuffix, out var reason) ? $" ({reason.Trim()})" : "")
                    + ", so the image's user runs, which is root unless the image names another";
            }
        }

        var limits = Flag(Keys.ResourceLimits);
        long? pids = assumptions.DefaultPidsLimit;
        if (settings.TryGetValue(Keys.PidsLimit, out var pidsText))
        {
            pids = long.TryParse(pidsText.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p > 0 ? p : 0;
        }

        var capabilities = settings.TryGetValue(Keys.AddCapabilities, out var capText)
            ? capText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(NormalizeCapability).Distinct(StringComparer.Ordinal).ToList()
            : [];
        var mounts = settings
            .Where(s => s.Key.StartsWith(Keys.VolumePrefix, StringComparison.Ordinal))
            .OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s =>
            {
                var target = s.Value.Trim();
                var readOnly = target.EndsWith(":ro", StringComparison.Ordinal);
                target = readOnly || target.EndsWith(":rw", StringComparison.Ordinal) ? target[..^3] : target;
                return new ContainerMount("volume", s.Key[Keys.VolumePrefix.Length..], target, readOnly);
            })
            .ToList();

        return common with
        {
            User = user,
            UserNote = userNote,
            Privileged = false,
            AddedCapabilities = capabilities,
            DropsAllCapabilities = Flag(Keys.DropAllCapabilities),
            NoNewPrivileges = Flag(Keys.NoNewPrivileges),
            ReadOnlyRootFilesystem = Flag(Keys.ReadOnlyRootFilesystem),
            MemoryLimitBytes = limits ? (long)component.Resources.MemoryMb * 1024 * 1024 : 0,
            CpuLimitCores = limits ? component.Resources.CpuCores : 0,
            PidsLimit = pids,
            NetworkMode = "bpi-deployment",
            PidMode = "",
            IpcMode = "private",
            UtsMode = "",
            UsernsMode = "",
            Mounts = mounts,
            Devices = [],
            SeccompProfile = "default",
            AppArmorProfile = "default",
            PublishedPorts = [.. component.Ports.Select(p => new PublishedPort(p.ContainerPort, assumptions.PublishAddress, 0))],
            RestartPolicy = settings.TryGetValue(Keys.RestartPolicy, out var restart) ? restart.Trim() : assumptions.DefaultRestartPolicy,
        };
    }

    /// <summary>Upper-cases a capability name and strips a <c>CAP_</c> prefix.</summary>
    /// <param name="capability">The capability, for example <c>cap_net_admin</c>.</param>
    /// <returns>The normalized name, for example <c>NET_ADMIN</c>.</returns>
    public static string NormalizeCapability(string capability)
    {
        ArgumentNullException.ThrowIfNull(capability);
        var cap = capability.Trim().ToUpperInvariant();
        return cap.StartsWith("CAP_", StringComparison.Ordinal) ? cap[4..] : cap;
    }
}
