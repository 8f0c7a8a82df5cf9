using System.Globalization;
using System.Text.RegularExpressions;
using Bpi.Orchestration.Components.Docker.Engine.Models;

namespace Bpi.Orchestration.Components.Docker.DockLock;

/// <summary>One DockLock default a component relaxed, with its reason.</summary>
internal sealed record DockLockRelaxation(string Setting, string Value, string Reason);

/// <summary>A named volume a component mounts.</summary>
internal sealed record DockLockVolume(string Name, string Target, bool ReadOnly);

/// <summary>
/// The hardening of one component, resolved from <see cref="DockLockSettings"/> keys over the
/// <see cref="DockerRuntimeOptions"/> defaults, and applied to the engine's <see cref="HostConfig"/>.
/// </summary>
internal sealed partial record DockLockPolicy
{
    private static readonly string[] KnownKeys =
    [
        DockLockSettings.NoNewPrivileges, DockLockSettings.DropAllCapabilities, DockLockSettings.AddCapabilities,
        DockLockSettings.ReadOnlyRootFilesystem, DockLockSettings.NonRootUser, DockLockSettings.User,
        DockLockSettings.PidsLimit, DockLockSettings.ResourceLimits, DockLockSettings.RestartPolicy,
    ];

    private static readonly string[] RelaxableKeys =
    [
        DockLockSettings.NoNewPrivileges, DockLockSettings.DropAllCapabilities, DockLockSettings.ReadOnlyRootFilesystem,
        DockLockSettings.NonRootUser, DockLockSettings.PidsLimit, DockLockSettings.ResourceLimits,
    ];

    public bool NoNewPrivileges { get; init; } = true;

    public bool DropAllCapabilities { get; init; } = true;

    public IReadOnlyList<string> AddCapabilities { get; init; } = [];

    public bool ReadOnlyRootFilesystem { get; init; } = true;

    public bool RequireNonRootUser { get; init; } = true;

    public string? User { get; init; }

    /// <summary>The PIDs limit; <see langword="null"/> when relaxed to unlimited.</summary>
    public long? PidsLimit { get; init; }

    public bool EnforceResourceLimits { get; init; } = true;

    public RestartPolicy RestartPolicy { get; init; } = new();

    public IReadOnlyList<DockLockVolume> Volumes { get; init; } = [];

    public IReadOnlyList<DockLockRelaxation> Relaxations { get; init; } = [];

    /// <summary>Reads a component's settings; throws <see cref="OrchestrationErrorKind.InvalidConfiguration"/> listing every problem.</summary>
    public static DockLockPolicy Resolve(ComponentSpec component, DockerRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(component);
        ArgumentNullException.ThrowIfNull(options);
        var settings = component.RuntimeSettings;
        var errors = new List<string>();
        var relaxations = new List<DockLockRelaxation>();

        foreach (var key in settings.Keys.Order(StringComparer.Ordinal))
        {
            var known = KnownKeys.Contains(key, StringComparer.Ordinal)
                || (key.EndsWith(DockLockSettings.ReasonSuffix, StringComparison.Ordinal) && RelaxableKeys.Contains(key[..^DockLockSettings.ReasonSuffix.Length], StringComparer.Ordinal))
                || key.StartsWith(DockLockSettings.VolumePrefix, StringComparison.Ordinal);
            var ours = key.StartsWith(DockLockSettings.Prefix, StringComparison.OrdinalIgnoreCase) || key.StartsWith(DockLockSettings.DockerPrefix, StringComparison.OrdinalIgnoreCase);
            if (ours && !known)
            {
                errors.Add($"RuntimeSettings['{key}'] is not a DockLock setting; use one of {string.Join(", ", KnownKeys)}, {DockLockSettings.VolumePrefix}{{name}}, or a relaxable key followed by '{DockLockSettings.ReasonSuffix}'.");
            }
        }

        bool Flag(string key)
        {
            if (!settings.TryGetValue(key, out var text))
            {
                RequireNoOrphanReason(key);
                return true;
            }

            if (!bool.TryParse(text.Trim(), out var value))
            {
                errors.Add($"RuntimeSettings['{key}'] is '{text}'; use 'true' or 'false'.");
                return true;
            }

            if (value)
            {
                RequireNoOrphanReason(key);
            }
            else
            {
                Relax(key, "false");
            }

            return value;
        }

        void Relax(string key, string value)
        {
            if (settings.TryGetValue(key + DockLockSettings.ReasonSuffix, out var reason) && !string.IsNullOrWhiteSpace(reason))
            {
                relaxations.Add(new DockLockRelaxation(key, value, reason.Trim()));
            }
            else
            {
                errors.Add($"RuntimeSettings['{key}'] = '{value}' relaxes a DockLock default and needs a reason: set RuntimeSettings['{key}{DockLockSettings.ReasonSuffix}'] to why (it goes into the audit trail).");
            }
        }

        void RequireNoOrphanReason(string key)
        {
            if (settings.ContainsKey(key + DockLockSettings.ReasonSuffix))
            {
                errors.Add($"RuntimeSettings['{key}{DockLockSettings.ReasonSuffix}'] gives a reason, but '{key}' relaxes nothing; remove the reason or relax the setting.");
            }
        }

        var noNewPrivileges = Flag(DockLockSettings.NoNewPrivileges);
        var dropAll = Flag(DockLockSettings.DropAllCapabilities);
        var readOnly = Flag(DockLockSettings.ReadOnlyRootFilesystem);
        var nonRoot = Flag(DockLockSettings.NonRootUser);
        var limits = Flag(DockLockSettings.ResourceLimits);

        var capabilities = new List<string>();
        if (settings.TryGetValue(DockLockSettings.AddCapabilities, out var capText))
        {
            foreach (var raw in capText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var cap = raw.ToUpperInvariant();
                cap = cap.StartsWith("CAP_", StringComparison.Ordinal) ? cap[4..] : cap;
                if (cap == "ALL")
                {
                    errors.Add($"RuntimeSettings['{DockLockSettings.AddCapabilities}'] adds ALL capabilities; name each capability the component needs, or relax '{DockLockSettings.DropAllCapabilities}' with a reason.");
                }
                else if (!CapabilityName().IsMatch(cap))
                {
                    errors.Add($"RuntimeSettings['{DockLockSettings.AddCapabilities}'] has '{raw}', which is not a capability name (for example NET_BIND_SERVICE).");
                }
                else if (!capabilities.Contains(cap))
                {
                    capabilities.Add(cap);
                }
            }
        }

        string? user = null;
        if (settings.TryGetValue(DockLockSettings.User, out var userText))
        {
            user = userText.Trim();
            if (user.Length == 0 || user.Contains(' ', StringComparison.Ordinal))
            {
                errors.Add($"RuntimeSettings['{DockLockSettings.User}'] is '{userText}'; use uid[:gid] or a user name.");
            }
            else if (nonRoot && IsRoot(user))
            {
                errors.Add($"RuntimeSettings['{DockLockSettings.User}'] is '{user}', which is root; pick a non-root user, or relax '{DockLockSettings.NonRootUser}' with a reason.");
            }
        }

        long? pids = options.DefaultPidsLimit;
        if (settings.TryGetValue(DockLockSettings.PidsLimit, out var pidsText))
        {
            var trimmed = pidsText.Trim();
            if (string.Equals(trimmed, "unlimited", StringComparison.OrdinalIgnoreCase))
            {
                pids = null;
                Relax(DockLockSettings.PidsLimit, "unlimited");
            }
            else if (long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0)
            {
                pids = limit;
                RequireNoOrphanReason(DockLockSettings.PidsLimit);
            }
            else
            {
                errors.Add($"RuntimeSettings['{DockLockSettings.PidsLimit}'] is '{pidsText}'; use a positive number, or 'unlimited' with a reason.");
            }
        }
        else
        {
            RequireNoOrphanReason(DockLockSettings.PidsLimit);
        }

        if (limits)
        {
            if (!(component.Resources.CpuCores > 0))
            {
                errors.Add($"Resources.CpuCores is {component.Resources.CpuCores}; DockLock requires a positive CPU limit (or relax '{DockLockSettings.ResourceLimits}' with a reason).");
            }

            if (component.Resources.MemoryMb < 6)
            {
                errors.Add($"Resources.MemoryMb is {component.Resources.MemoryMb}; DockLock requires a memory limit of at least 6 MB, the engine's minimum (or relax '{DockLockSettings.ResourceLimits}' with a reason).");
            }
        }

        var restart = ParseRestartPolicy(settings.TryGetValue(DockLockSettings.RestartPolicy, out var policyText) ? policyText : options.DefaultRestartPolicy, out var restartError);
        if (restartError is not null)
        {
            errors.Add(settings.ContainsKey(DockLockSettings.RestartPolicy)
                ? $"RuntimeSettings['{DockLockSettings.RestartPolicy}'] {restartError}"
                : $"DockerRuntimeOptions.DefaultRestartPolicy {restartError}");
        }

        var volumes = new List<DockLockVolume>();
        foreach (var (key, value) in settings.Where(s => s.Key.StartsWith(DockLockSettings.VolumePrefix, StringComparison.Ordinal)).OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            var name = key[DockLockSettings.VolumePrefix.Length..];
            var target = value.Trim();
            var readOnlyVolume = target.EndsWith(":ro", StringComparison.Ordinal);
            target = readOnlyVolume ? target[..^3] : target.EndsWith(":rw", StringComparison.Ordinal) ? target[..^3] : target;
            if (!VolumeName().IsMatch(name))
            {
                errors.Add($"RuntimeSettings['{key}'] names volume '{name}'; use lowercase letters, digits, '_', '.' and '-' (starting with a letter or digit).");
            }

            if (!target.StartsWith('/') || target.Contains(':', StringComparison.Ordinal) || target == "/")
            {
                errors.Add($"RuntimeSettings['{key}'] is '{value}'; give an absolute path inside the container other than '/', optionally followed by ':ro'.");
            }

            volumes.Add(new DockLockVolume(name, target, readOnlyVolume));
        }

        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration($"DockLock settings of component '{component.Id}'", errors);
        }

        return new DockLockPolicy
        {
            NoNewPrivileges = noNewPrivileges,
            DropAllCapabilities = dropAll,
            AddCapabilities = capabilities,
            ReadOnlyRootFilesystem = readOnly,
            RequireNonRootUser = nonRoot,
            User = user,
            PidsLimit = pids,
            EnforceResourceLimits = limits,
            RestartPolicy = restart!,
            Volumes = volumes,
            Relaxations = relaxations,
        };
    }

    /// <summary>
    /// The user to run as: the component's own, else — while non-root is required — the image's user if it is not root,
    /// else <see cref="DockerRuntimeOptions.NonRootUser"/>. <see langword="null"/> leaves the image's user.
    /// </summary>
    public string? ResolveUser(string? imageUser, DockerRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (User is not null)
        {
            return User;
        }

        if (!RequireNonRootUser)
        {
            return null;
        }

        return string.IsNullOrWhiteSpace(imageUser) || IsRoot(imageUser.Trim()) ? options.NonRootUser : null;
    }

    /// <summary>The host config carrying this policy's hardening and limits (the caller adds ports, network and mounts).</summary>
    public HostConfig ToHostConfig(ComponentResources resources, DockerRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(resources);
        ArgumentNullException.ThrowIfNull(options);
        var memory = EnforceResourceLimits ? (long)resources.MemoryMb * 1024 * 1024 : 0;
        return new HostConfig
        {
            SecurityOpt = NoNewPrivileges ? ["no-new-privileges:true"] : null,
            CapDrop = DropAllCapabilities ? ["ALL"] : null,
            CapAdd = AddCapabilities.Count > 0 ? AddCapabilities : null,
            ReadonlyRootfs = ReadOnlyRootFilesystem,
            Tmpfs = ReadOnlyRootFilesystem
                ? new Dictionary<string, string> { ["/tmp"] = string.Create(CultureInfo.InvariantCulture, $"rw,noexec,nosuid,nodev,size={options.TmpfsSizeMb}m") }
                : null,
            PidsLimit = PidsLimit ?? -1,
            NanoCpus = EnforceResourceLimits ? (long)Math.Round(resources.CpuCores * 1_000_000_000d) : 0,
            Memory = memory,

            // Swap equal to the memory limit means no swap on top of it.
            MemorySwap = memory,
            RestartPolicy = RestartPolicy,
            Privileged = false,
        };
    }

    /// <summary>Whether a user spec names root: <c>root</c>, uid 0, with or without a group.</summary>
    internal static bool IsRoot(string user)
    {
        var name = user.Split(':', 2)[0].Trim();
        return name.Length == 0 || name == "root" || (long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) && uid == 0);
    }

    internal static RestartPolicy? ParseRestartPolicy(string? text, out string? error)
    {
        error = null;
        var value = (text ?? "").Trim().ToLowerInvariant();
        switch (value)
        {
            case "no" or "":
                return new RestartPolicy { Name = "no" };
            case "always" or "unless-stopped" or "on-failure":
                return new RestartPolicy { Name = value };
        }

        if (value.StartsWith("on-failure:", StringComparison.Ordinal)
            && int.TryParse(value["on-failure:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var retries) && retries >= 0)
        {
            return new RestartPolicy { Name = "on-failure", MaximumRetryCount = retries };
        }

        error = $"is '{text}'; use no, on-failure, on-failure:N, unless-stopped or always.";
        return new RestartPolicy { Name = "no" };
    }

    [GeneratedRegex("^[A-Z][A-Z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex CapabilityName();

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex VolumeName();
}
