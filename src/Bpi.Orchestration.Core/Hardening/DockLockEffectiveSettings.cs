using System.Globalization;
using System.Text.RegularExpressions;

namespace Bpi.Orchestration.Hardening;

/// <summary>One DockLock default a component relaxed, with its reason.</summary>
/// <param name="Setting">The key, for example <see cref="DockLockSettings.ReadOnlyRootFilesystem"/>.</param>
/// <param name="Value">The relaxed value (<c>false</c>, <c>unlimited</c>).</param>
/// <param name="Reason">The reason the component gives (<c>{key}.reason</c>).</param>
public sealed record DockLockRelaxation(string Setting, string Value, string Reason);

/// <summary>A named volume a component mounts (<see cref="DockLockSettings.VolumePrefix"/>).</summary>
/// <param name="Name">The volume's name within its deployment.</param>
/// <param name="Target">The absolute path inside the container.</param>
/// <param name="ReadOnly">Whether it is mounted read-only.</param>
public sealed record DockLockVolume(string Name, string Target, bool ReadOnly);

/// <summary>
/// What DockLock applies to one component: the <see cref="DockLockSettings"/> keys of its
/// <see cref="ComponentSpec.RuntimeSettings"/> over the host's <see cref="DockLockDefaults"/>. The Docker runtime
/// applies exactly this (and refuses a component with <see cref="Errors"/>); the Security package judges it before
/// anything runs. Resolving never throws on a bad setting: every problem is listed in <see cref="Errors"/>, and the
/// setting keeps its hardened default.
/// </summary>
public sealed partial record DockLockEffectiveSettings
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

    /// <summary>Whether <c>no-new-privileges</c> is set.</summary>
    public bool NoNewPrivileges { get; init; } = true;

    /// <summary>Whether every capability is dropped before <see cref="AddCapabilities"/> are added back.</summary>
    public bool DropAllCapabilities { get; init; } = true;

    /// <summary>The capabilities added back (upper case, without <c>CAP_</c>, no duplicates).</summary>
    public IReadOnlyList<string> AddCapabilities { get; init; } = [];

    /// <summary>Whether the root filesystem is read-only.</summary>
    public bool ReadOnlyRootFilesystem { get; init; } = true;

    /// <summary>Whether the container must run as a non-root user.</summary>
    public bool RequireNonRootUser { get; init; } = true;

    /// <summary>The user the component names (<see cref="DockLockSettings.User"/>), or <see langword="null"/>.</summary>
    public string? User { get; init; }

    /// <summary>The PIDs limit; <see langword="null"/> when relaxed to unlimited.</summary>
    public long? PidsLimit { get; init; }

    /// <summary>Whether the component's CPU and memory are applied as hard limits.</summary>
    public bool EnforceResourceLimits { get; init; } = true;

    /// <summary>The restart policy, normalized: <c>no</c>, <c>on-failure</c>, <c>on-failure:N</c>, <c>unless-stopped</c> or <c>always</c>.</summary>
    public string RestartPolicy { get; init; } = DockLockSettings.DefaultRestartPolicy;

    /// <summary>The named volumes, ordered by key.</summary>
    public IReadOnlyList<DockLockVolume> Volumes { get; init; } = [];

    /// <summary>The defaults the component relaxed, each with its reason.</summary>
    public IReadOnlyList<DockLockRelaxation> Relaxations { get; init; } = [];

    /// <summary>What is wrong with the component's settings, each saying what to do; empty when nothing is.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>Resolves a component's settings over the host's defaults.</summary>
    /// <param name="component">The component.</param>
    /// <param name="defaults">The host's defaults; <see langword="null"/> for <see cref="DockLockSettings"/>' defaults.</param>
    /// <returns>The effective settings, with <see cref="Errors"/> listing every problem.</returns>
    public static DockLockEffectiveSettings Resolve(ComponentSpec component, DockLockDefaults? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(component);
        defaults ??= new DockLockDefaults();
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
                var cap = NormalizeCapability(raw);
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
                user = null;
            }
            else if (nonRoot && IsRoot(user))
            {
                errors.Add($"RuntimeSettings['{DockLockSettings.User}'] is '{user}', which is root; pick a non-root user, or relax '{DockLockSettings.NonRootUser}' with a reason.");
            }
        }

        long? pids = defaults.DefaultPidsLimit;
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

        var restart = NormalizeRestartPolicy(settings.TryGetValue(DockLockSettings.RestartPolicy, out var policyText) ? policyText : defaults.DefaultRestartPolicy, out var restartError);
        if (restartError is not null)
        {
            errors.Add(settings.ContainsKey(DockLockSettings.RestartPolicy)
                ? $"RuntimeSettings['{DockLockSettings.RestartPolicy}'] {restartError}"
                : $"The default restart policy {restartError}");
        }

        var volumes = new List<DockLockVolume>();
        foreach (var (key, value) in settings.Where(s => s.Key.StartsWith(DockLockSettings.VolumePrefix, StringComparison.Ordinal)).OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            var name = key[DockLockSettings.VolumePrefix.Length..];
            var target = value.Trim();
            var readOnlyVolume = target.EndsWith(":ro", StringComparison.Ordinal);
            target = readOnlyVolume || target.EndsWith(":rw", StringComparison.Ordinal) ? target[..^3] : target;
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

        return new DockLockEffectiveSettings
        {
            NoNewPrivileges = noNewPrivileges,
            DropAllCapabilities = dropAll,
            AddCapabilities = capabilities,
            ReadOnlyRootFilesystem = readOnly,
            RequireNonRootUser = nonRoot,
            User = user,
            PidsLimit = pids,
            EnforceResourceLimits = limits,
            RestartPolicy = restart,
            Volumes = volumes,
            Relaxations = relaxations,
            Errors = errors,
        };
    }

    /// <summary>Whether a user spec names root: <c>root</c>, uid 0, with or without a group, or nothing.</summary>
    /// <param name="user">The user, <c>uid[:gid]</c> or a name.</param>
    /// <returns><see langword="true"/> for root.</returns>
    public static bool IsRoot(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var name = user.Split(':', 2)[0].Trim();
        return name.Length == 0 || name == "root" || (long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) && uid == 0);
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

    /// <summary>Normalizes a restart policy: <c>no</c> (also for empty), <c>on-failure</c>, <c>on-failure:N</c>, <c>unless-stopped</c> or <c>always</c>.</summary>
    /// <param name="text">The policy as written.</param>
    /// <param name="error">What is wrong with it (a sentence fragment after the setting's name), or <see langword="null"/>.</param>
    /// <returns>The normalized policy; <c>no</c> when it is not one.</returns>
    public static string NormalizeRestartPolicy(string? text, out string? error)
    {
        error = null;
        var value = (text ?? "").Trim().ToLowerInvariant();
        switch (value)
        {
            case "no" or "":
                return "no";
            case "always" or "unless-stopped" or "on-failure":
                return value;
        }

        if (value.StartsWith("on-failure:", StringComparison.Ordinal)
            && int.TryParse(value["on-failure:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var retries) && retries >= 0)
        {
            return "on-failure:" + retries.ToString(CultureInfo.InvariantCulture);
        }

        error = $"is '{text}'; use no, on-failure, on-failure:N, unless-stopped or always.";
        return "no";
    }

    [GeneratedRegex("^[A-Z][A-Z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex CapabilityName();

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex VolumeName();
}
