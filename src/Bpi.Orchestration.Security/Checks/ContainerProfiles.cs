using Bpi.Orchestration.Hardening;

namespace Bpi.Orchestration.Security.Checks;

/// <summary>Builds <see cref="ContainerProfile"/>s from specs.</summary>
public static class ContainerProfiles
{
    /// <summary>
    /// The effective settings of one component of a spec (<see cref="DockLockEffectiveSettings"/>): the DockLock defaults (no new privileges, all capabilities
    /// dropped, read-only root, non-root user, PIDs, CPU and memory limits, ports on <see cref="DockLockDefaults.PublishAddress"/>)
    /// with the component's explicit relaxations applied. A component without an image (a local process) is not a container.
    /// </summary>
    /// <param name="component">The component.</param>
    /// <param name="defaults">The runtime defaults; <see langword="null"/> for the Docker runtime's own defaults.</param>
    /// <returns>The profile.</returns>
    public static ContainerProfile FromSpec(ComponentSpec component, DockLockDefaults? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(component);
        defaults ??= new DockLockDefaults();
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

        // What the Docker runtime would apply. Settings it would refuse keep their hardened default there, except the
        // capabilities: those asked for are judged as asked (an 'ALL' the runtime refuses is still a finding here).
        var effective = DockLockEffectiveSettings.Resolve(component, defaults);
        var user = effective.User;
        string? userNote = null;
        if (user is null)
        {
            if (effective.RequireNonRootUser)
            {
                user = defaults.NonRootUser;
            }
            else
            {
                user = "";
                userNote = "docklock.nonRootUser is relaxed"
                    + (settings.TryGetValue(DockLockSettings.NonRootUser + DockLockSettings.ReasonSuffix, out var reason) ? $" ({reason.Trim()})" : "")
                    + ", so the image's user runs, which is root unless the image names another";
            }
        }

        var capabilities = settings.TryGetValue(DockLockSettings.AddCapabilities, out var capText)
            ? capText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(DockLockEffectiveSettings.NormalizeCapability).Distinct(StringComparer.Ordinal).ToList()
            : [];
        var limits = effective.EnforceResourceLimits;
        return common with
        {
            User = user,
            UserNote = userNote,
            Privileged = false,
            AddedCapabilities = capabilities,
            DropsAllCapabilities = effective.DropAllCapabilities,
            NoNewPrivileges = effective.NoNewPrivileges,
            ReadOnlyRootFilesystem = effective.ReadOnlyRootFilesystem,
            MemoryLimitBytes = limits ? (long)component.Resources.MemoryMb * 1024 * 1024 : 0,
            CpuLimitCores = limits ? component.Resources.CpuCores : 0,
            PidsLimit = effective.PidsLimit ?? 0,
            NetworkMode = "bpi-deployment",
            PidMode = "",
            IpcMode = "private",
            UtsMode = "",
            UsernsMode = "",
            Mounts = [.. effective.Volumes.Select(v => new ContainerMount("volume", v.Name, v.Target, v.ReadOnly))],
            Devices = [],
            SeccompProfile = "default",
            AppArmorProfile = "default",
            PublishedPorts = [.. component.Ports.Select(p => new PublishedPort(p.ContainerPort, defaults.PublishAddress, 0))],
            RestartPolicy = effective.RestartPolicy,
        };
    }
}
