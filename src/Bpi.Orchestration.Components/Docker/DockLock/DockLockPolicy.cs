using EngineRestartKind = Docker.DotNet.Models.RestartPolicyKind;
using System.Globalization;
using Docker.DotNet.Models;
using Bpi.Orchestration.Hardening;

namespace Bpi.Orchestration.Components.Docker.DockLock;

/// <summary>
/// The hardening of one component applied to the engine's <see cref="HostConfig"/>: its
/// <see cref="DockLockEffectiveSettings"/> (the one definition of the DockLock keys, defaults and relaxations, which the
/// Security package judges too) over the <see cref="DockerRuntimeOptions"/> defaults, and the engine's form of the
/// restart policy. Nothing of the settings is declared again here.
/// </summary>
/// <param name="Settings">The component's effective settings, free of errors.</param>
/// <param name="RestartPolicy">The engine's restart policy of <see cref="DockLockEffectiveSettings.RestartPolicy"/>.</param>
internal sealed record DockLockPolicy(DockLockEffectiveSettings Settings, RestartPolicy RestartPolicy)
{
    /// <summary>Reads a component's settings; throws <see cref="OrchestrationErrorKind.InvalidConfiguration"/> listing every problem.</summary>
    public static DockLockPolicy Resolve(ComponentSpec component, DockerRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(component);
        ArgumentNullException.ThrowIfNull(options);
        var effective = DockLockEffectiveSettings.Resolve(component, options.ToDockLockDefaults());
        if (effective.Errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration($"DockLock settings of component '{component.Id}'", effective.Errors);
        }

        return new DockLockPolicy(effective, ParseRestartPolicy(effective.RestartPolicy, out _));
    }

    /// <summary>
    /// The user to run as: the component's own, else — while non-root is required — the image's user if it is not root,
    /// else <see cref="DockerRuntimeOptions.NonRootUser"/>. <see langword="null"/> leaves the image's user.
    /// </summary>
    public string? ResolveUser(string? imageUser, DockerRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Settings.User is not null)
        {
            return Settings.User;
        }

        if (!Settings.RequireNonRootUser)
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
        var memory = Settings.EnforceResourceLimits ? (long)resources.MemoryMb * 1024 * 1024 : 0;
        return new HostConfig
        {
            SecurityOpt = Settings.NoNewPrivileges ? ["no-new-privileges:true"] : null,
            CapDrop = Settings.DropAllCapabilities ? ["ALL"] : null,
            CapAdd = Settings.AddCapabilities.Count > 0 ? [.. Settings.AddCapabilities] : null,
            ReadonlyRootfs = Settings.ReadOnlyRootFilesystem,
            Tmpfs = Settings.ReadOnlyRootFilesystem
                ? new Dictionary<string, string> { ["/tmp"] = string.Create(CultureInfo.InvariantCulture, $"rw,noexec,nosuid,nodev,size={options.TmpfsSizeMb}m") }
                : null,
            PidsLimit = Settings.PidsLimit ?? -1,
            NanoCPUs = Settings.EnforceResourceLimits ? (long)Math.Round(resources.CpuCores * 1_000_000_000d) : 0,
            Memory = memory,

            // Swap equal to the memory limit means no swap on top of it.
            MemorySwap = memory,
            RestartPolicy = RestartPolicy,
            Privileged = false,
        };
    }

    /// <summary>Whether a user spec names root: <c>root</c>, uid 0, with or without a group.</summary>
    internal static bool IsRoot(string user) => DockLockEffectiveSettings.IsRoot(user);

    /// <summary>The engine's restart policy of a policy's text; <paramref name="error"/> says what is wrong with it.</summary>
    internal static RestartPolicy ParseRestartPolicy(string? text, out string? error)
    {
        var value = DockLockEffectiveSettings.NormalizeRestartPolicy(text, out error);
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon < 0
            ? new RestartPolicy { Name = RestartKind(value) }
            : new RestartPolicy { Name = RestartKind(value[..colon]), MaximumRetryCount = int.Parse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture) };
    }

    /// <summary>The engine's word for a restart policy kind (<c>no</c>, <c>on-failure</c>, …).</summary>
    internal static string RestartWord(EngineRestartKind kind) => kind switch
    {
        EngineRestartKind.Always => "always",
        EngineRestartKind.OnFailure => "on-failure",
        EngineRestartKind.UnlessStopped => "unless-stopped",
        _ => "no",
    };

    private static EngineRestartKind RestartKind(string name) => name switch
    {
        "always" => EngineRestartKind.Always,
        "on-failure" => EngineRestartKind.OnFailure,
        "unless-stopped" => EngineRestartKind.UnlessStopped,
        _ => EngineRestartKind.No,
    };
}
