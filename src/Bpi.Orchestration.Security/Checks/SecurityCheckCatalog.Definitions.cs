using System.Globalization;
using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Security.Images;
using static Bpi.Orchestration.Security.Checks.CheckVerdict;

namespace Bpi.Orchestration.Security.Checks;

public static partial class SecurityCheckCatalog
{
    /// <summary>Why a container-isolation check does not apply to a component: it runs as a local process, without a sandbox.</summary>
    internal const string LocalProcessEvidence = "not a container (a local process)";

    private const string CisVersion = "v1.6.0";
    private const string PssVersion = "v1.31";
    private const string TrivyVersion = "trivy-checks@80e5382";

    /// <summary>Capabilities that give a container power over the host or other containers.</summary>
    internal static readonly IReadOnlySet<string> DangerousCapabilities = new HashSet<string>(StringComparer.Ordinal)
    {
        "ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO", "DAC_READ_SEARCH", "BPF", "PERFMON", "SYS_BOOT", "MAC_ADMIN", "MAC_OVERRIDE", "SYS_TIME",
    };

    /// <summary>Host paths that must not be bind-mounted (CIS Docker 5.6, plus the engine's own state).</summary>
    internal static readonly IReadOnlyList<string> SensitiveHostPaths = ["/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var/lib/docker", "/root"];

    private static readonly string[] RuntimeApiFiles = ["docker.sock", "containerd.sock", "crio.sock", "podman.sock", "dockershim.sock"];

    private static string EncClusterNote(AssessmentContext c) => c.EncryptedByEncCluster ? " (EncCluster: mutual TLS 1.3 with AES-256-GCM on every connection)" : "";

    private static CheckReference Cis(string id) => new(CheckReference.CisDocker, CisVersion, id);

    private static CheckReference Pss(string control) => new(CheckReference.PodSecurityStandards, PssVersion, control);

    private static CheckReference Trivy(string id) => new(CheckReference.Trivy, TrivyVersion, id);

    private static CheckReference Nist(string id) => new(CheckReference.Nist800190, "2017", id);

    private static SecurityCheck Check(string id, SecuritySeverity severity, CheckScope scope, string title, string rationale, string remediation, params CheckReference[] references) => new()
    {
        Id = id,
        Title = title,
        Severity = severity,
        Scope = scope,
        Rationale = rationale,
        Remediation = remediation,
        References = references,
    };

    private static bool IsHost(string? mode) => string.Equals(mode?.Trim(), "host", StringComparison.OrdinalIgnoreCase);

    private static bool IsAllInterfaces(string ip) => ip.Length == 0 || ip is "0.0.0.0" or "::" or "[::]";

    private static CheckVerdict Container(ContainerProfile p, Func<ContainerProfile, CheckVerdict> evaluate)
        => p.IsContainer ? evaluate(p) : NotApplicable(LocalProcessEvidence);

    private static CheckVerdict Known<T>(ContainerProfile p, T? value, string fact, Func<T, CheckVerdict> evaluate)
        where T : notnull
        => !p.IsContainer ? NotApplicable(LocalProcessEvidence) : value is null ? NotApplicable(fact + " is unknown") : evaluate(value);

    private static CheckVerdict KnownValue<T>(ContainerProfile p, T? value, string fact, Func<T, CheckVerdict> evaluate)
        where T : struct
        => !p.IsContainer ? NotApplicable(LocalProcessEvidence) : value is null ? NotApplicable(fact + " is unknown") : evaluate(value.Value);

    private static CheckVerdict Image(ContainerProfile p, Func<ImageReference, CheckVerdict> evaluate)
    {
        if (!p.IsContainer || p.Image is null)
        {
            return NotApplicable("no image");
        }

        return ImageReference.TryParse(p.Image, out var image) ? evaluate(image) : Fail($"image '{p.Image}' is not a valid reference");
    }

    internal static bool RunsAsRoot(string user)
    {
        var name = user.Split(':', 2)[0].Trim();
        return name.Length == 0 || name == "root" || (long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) && uid == 0);
    }

    private static string Join(IEnumerable<string> items) => string.Join(", ", items);

    /// <summary>A failure on a DockLock default the container relaxes, quoting the reason recorded for it when the profile has one.</summary>
    private static CheckVerdict FailRelaxed(ContainerProfile p, string setting, string evidence)
        => Fail(p.RelaxationReasons is { } reasons && reasons.TryGetValue(setting, out var reason) ? $"{evidence} ({setting} relaxed: {reason})" : evidence);

    private static readonly CatalogEntry[] Definitions =
    [
        new(Check("BPI-SEC-001", SecuritySeverity.Critical, CheckScope.Container, "Privileged container",
                "A privileged container has every capability and access to all host devices; escaping to the host is trivial.",
                "Do not run the container privileged; add only the specific capabilities it needs.",
                Cis("5.5"), Pss("baseline/privileged"), Trivy("KSV-0017")),
            (p, _) => KnownValue(p, p.Privileged, "privileged mode", v => v ? Fail("the container is privileged") : Pass("not privileged"))),

        new(Check("BPI-SEC-002", SecuritySeverity.Critical, CheckScope.Container, "Container runtime socket mounted",
                "Whoever reaches the Docker (or containerd, CRI-O) socket controls the engine, and through it the host.",
                "Remove the socket mount; give the workload a narrowly scoped API instead.",
                Cis("5.32"), Trivy("KSV-0006")),
            (p, _) => Known(p, p.Mounts, "the mounts", mounts =>
            {
                var sockets = mounts.Where(m => RuntimeApiFiles.Any(s => m.Source.EndsWith(s, StringComparison.Ordinal) || m.Target.EndsWith(s, StringComparison.Ordinal))).ToList();
                return sockets.Count > 0 ? Fail("mounts " + Join(sockets.Select(m => m.Source + " at " + m.Target))) : Pass("no runtime socket is mounted");
            })),

        new(Check("BPI-SEC-003", SecuritySeverity.High, CheckScope.Container, "Dangerous capability added",
                "Capabilities such as SYS_ADMIN, NET_ADMIN, SYS_PTRACE or SYS_MODULE give a container power over the host kernel, its network or other processes.",
                "Remove the capability; if a feature really needs it, run that feature outside the container.",
                Cis("5.4"), Pss("baseline/capabilities"), Trivy("KSV-0005"), Trivy("KSV-0120")),
            (p, _) => Known(p, p.AddedCapabilities, "the added capabilities", caps =>
            {
                var dangerous = caps.Where(DangerousCapabilities.Contains).ToList();
                return dangerous.Count > 0 ? Fail("adds " + Join(dangerous)) : Pass("no dangerous capability is added");
            })),

        new(Check("BPI-SEC-004", SecuritySeverity.High, CheckScope.Container, "Sensitive host path mounted",
                "Mounting /, /etc, /proc, /sys or similar host paths lets the container read or change the host's configuration and processes.",
                "Remove the host mount; use a named volume, or mount a narrow path read-only.",
                Cis("5.6"), Pss("baseline/hostPathVolumes"), Trivy("KSV-0023"), Trivy("KSV-0121")),
            (p, _) => Known(p, p.Mounts, "the mounts", mounts =>
            {
                var sensitive = mounts
                    .Where(m => string.Equals(m.Type, "bind", StringComparison.OrdinalIgnoreCase))
                    .Where(m => SensitiveHostPaths.Any(h => m.Source == h || (h != "/" && m.Source.StartsWith(h + "/", StringComparison.Ordinal))))
                    .ToList();
                return sensitive.Count > 0 ? Fail("bind-mounts " + Join(sensitive.Select(m => m.Source + (m.ReadOnly ? " (ro)" : " (rw)")))) : Pass("no sensitive host path is mounted");
            })),

        new(Check("BPI-SEC-005", SecuritySeverity.High, CheckScope.Container, "Host network namespace shared",
                "With the host's network namespace the container sees every host interface, can bind any host port and bypasses network isolation.",
                "Use the deployment's own bridge network (the default of the Docker runtime).",
                Cis("5.10"), Pss("baseline/hostNamespaces"), Trivy("KSV-0009")),
            (p, _) => Known(p, p.NetworkMode, "the network mode", m => IsHost(m) ? Fail("network mode is host") : Pass("own network namespace"))),

        new(Check("BPI-SEC-006", SecuritySeverity.High, CheckScope.Container, "Host PID namespace shared",
                "Sharing the host's PID namespace lets the container see and signal every process on the host.",
                "Do not set the PID mode to host.",
                Cis("5.16"), Pss("baseline/hostNamespaces"), Trivy("KSV-0010")),
            (p, _) => Known(p, p.PidMode, "the PID mode", m => IsHost(m) ? Fail("PID mode is host") : Pass("own PID namespace"))),

        new(Check("BPI-SEC-007", SecuritySeverity.High, CheckScope.Container, "Host IPC namespace shared",
                "Sharing the host's IPC namespace exposes host shared memory and semaphores to the container.",
                "Use the private IPC mode.",
                Cis("5.17"), Pss("baseline/hostNamespaces"), Trivy("KSV-0008")),
            (p, _) => Known(p, p.IpcMode, "the IPC mode", m => IsHost(m) ? Fail("IPC mode is host") : Pass("own IPC namespace"))),

        new(Check("BPI-SEC-008", SecuritySeverity.Medium, CheckScope.Container, "Host UTS namespace shared",
                "Sharing the host's UTS namespace lets the container change the host's hostname.",
                "Do not set the UTS mode to host.",
                Cis("5.21")),
            (p, _) => Known(p, p.UtsMode, "the UTS mode", m => IsHost(m) ? Fail("UTS mode is host") : Pass("own UTS namespace"))),

        new(Check("BPI-SEC-009", SecuritySeverity.High, CheckScope.Container, "Runs as root",
                "A process running as root inside the container is root on the host as soon as it escapes, and may change anything writable in the image.",
                "Run as a non-root user (keep the DockLock default, or set docklock.user to a non-root uid:gid the image supports).",
                Cis("4.1"), Pss("restricted/runAsNonRoot"), Pss("restricted/runAsUser"), Trivy("KSV-0012"), Trivy("KSV-0105")),
            (p, _) => Known(p, p.User, "the user", u => RunsAsRoot(u)
                ? FailRelaxed(p, DockLockSettings.NonRootUser, p.UserNote ?? (u.Length == 0 ? "no user is set, so the image's default user (root) runs" : $"runs as '{u}'"))
                : Pass($"runs as '{u}'"))),

        new(Check("BPI-SEC-010", SecuritySeverity.Medium, CheckScope.Container, "Privilege escalation not blocked",
                "Without no-new-privileges a process can gain privileges through setuid binaries or file capabilities.",
                "Set the no-new-privileges security option (the DockLock default).",
                Cis("5.26"), Pss("restricted/allowPrivilegeEscalation"), Trivy("KSV-0001")),
            (p, _) => KnownValue(p, p.NoNewPrivileges, "no-new-privileges", v => v ? Pass("no-new-privileges is set") : FailRelaxed(p, DockLockSettings.NoNewPrivileges, "no-new-privileges is not set"))),

        new(Check("BPI-SEC-011", SecuritySeverity.Medium, CheckScope.Container, "Capabilities not dropped",
                "The engine's default capability set (CHOWN, DAC_OVERRIDE, SETUID, NET_RAW, …) is more than most services need.",
                "Drop all capabilities and add back only what is needed, for example NET_BIND_SERVICE (the DockLock default).",
                Pss("restricted/capabilities"), Trivy("KSV-0003")),
            (p, _) => KnownValue(p, p.DropsAllCapabilities, "the dropped capabilities", v => v ? Pass("all capabilities are dropped") : FailRelaxed(p, DockLockSettings.DropAllCapabilities, "the engine's default capabilities are kept"))),

        new(Check("BPI-SEC-012", SecuritySeverity.Medium, CheckScope.Container, "Capability added beyond NET_BIND_SERVICE",
                "Every added capability widens what a compromised process can do; the restricted profile allows only NET_BIND_SERVICE.",
                "Remove the capability, or record why the component needs it.",
                Cis("5.4"), Pss("restricted/capabilities"), Trivy("KSV-0022"), Trivy("KSV-0106")),
            (p, _) => Known(p, p.AddedCapabilities, "the added capabilities", caps =>
            {
                var extra = caps.Where(c => c != "NET_BIND_SERVICE").ToList();
                return extra.Count > 0 ? FailRelaxed(p, DockLockSettings.AddCapabilities, "adds " + Join(extra)) : Pass(caps.Count == 0 ? "adds no capability" : "adds only NET_BIND_SERVICE");
            })),

        new(Check("BPI-SEC-013", SecuritySeverity.Medium, CheckScope.Container, "Writable root filesystem",
                "A writable root filesystem lets an attacker change binaries and configuration of the running service.",
                "Mount the root filesystem read-only and give the service a tmpfs (at /tmp) or a volume for what it writes (the DockLock default).",
                Cis("5.13"), Trivy("KSV-0014"), Nist("4.4.4")),
            (p, _) => KnownValue(p, p.ReadOnlyRootFilesystem, "the root filesystem mode", v => v ? Pass("read-only root filesystem") : FailRelaxed(p, DockLockSettings.ReadOnlyRootFilesystem, "the root filesystem is writable"))),

        new(Check("BPI-SEC-014", SecuritySeverity.High, CheckScope.Container, "Seccomp unconfined",
                "Without a seccomp profile every system call is open to the container, including those behind many kernel escapes.",
                "Remove seccomp=unconfined so the engine's default profile applies.",
                Cis("5.22"), Pss("baseline/seccompProfile"), Trivy("KSV-0104")),
            (p, _) => Known(p, p.SeccompProfile, "the seccomp profile", s => string.Equals(s, "unconfined", StringComparison.OrdinalIgnoreCase) ? Fail("seccomp is unconfined") : Pass($"seccomp profile '{s}'"))),

        new(Check("BPI-SEC-015", SecuritySeverity.Medium, CheckScope.Container, "AppArmor unconfined",
                "Without an AppArmor profile the container loses the mandatory access control that blocks writes to /proc and /sys.",
                "Remove apparmor=unconfined so the engine's default profile (docker-default) applies.",
                Cis("5.2"), Pss("baseline/appArmorProfile"), Trivy("KSV-0002")),
            (p, _) => Known(p, p.AppArmorProfile, "the AppArmor profile", a => string.Equals(a, "unconfined", StringComparison.OrdinalIgnoreCase) ? Fail("AppArmor is unconfined") : Pass(a.Length == 0 ? "no AppArmor override" : $"AppArmor profile '{a}'"))),

        new(Check("BPI-SEC-016", SecuritySeverity.High, CheckScope.Container, "Host devices exposed",
                "A host device mapped into the container gives direct access to hardware or kernel interfaces.",
                "Remove the device mappings.",
                Cis("5.18")),
            (p, _) => Known(p, p.Devices, "the devices", d => d.Count > 0 ? Fail("maps " + Join(d)) : Pass("no host device is mapped"))),

        new(Check("BPI-SEC-017", SecuritySeverity.Medium, CheckScope.Container, "Shared mount propagation",
                "A mount with shared propagation lets mounts made in the container appear on the host and the other way round.",
                "Use private (rprivate) propagation.",
                Cis("5.20")),
            (p, _) => Known(p, p.Mounts, "the mounts", mounts =>
            {
                var shared = mounts.Where(m => m.Propagation is "shared" or "rshared").ToList();
                return shared.Count > 0 ? Fail("shared propagation on " + Join(shared.Select(m => m.Target))) : Pass("no shared propagation");
            })),

        new(Check("BPI-SEC-018", SecuritySeverity.Medium, CheckScope.Container, "No memory limit",
                "A container without a memory limit can exhaust the host's memory and take its neighbours down.",
                "Set a memory limit (ComponentResources.MemoryMb with DockLock resource limits on).",
                Cis("5.11"), Trivy("KSV-0018")),
            (p, _) => KnownValue(p, p.MemoryLimitBytes, "the memory limit", m => m > 0 ? Pass(string.Create(CultureInfo.InvariantCulture, $"memory limited to {m / (1024 * 1024)} MB")) : FailRelaxed(p, DockLockSettings.ResourceLimits, "memory is unlimited"))),

        new(Check("BPI-SEC-019", SecuritySeverity.Low, CheckScope.Container, "No CPU limit",
                "A container without a CPU limit can starve the other workloads on the host.",
                "Set a CPU limit (ComponentResources.CpuCores with DockLock resource limits on).",
                Cis("5.12"), Trivy("KSV-0011")),
            (p, _) => KnownValue(p, p.CpuLimitCores, "the CPU limit", c => c > 0 ? Pass(string.Create(CultureInfo.InvariantCulture, $"CPU limited to {c:0.###} cores")) : FailRelaxed(p, DockLockSettings.ResourceLimits, "CPU is unlimited"))),

        new(Check("BPI-SEC-020", SecuritySeverity.Medium, CheckScope.Container, "No PIDs limit",
                "Without a PIDs limit a fork bomb in one container exhausts the host's process table.",
                "Set a PIDs limit (the DockLock default is 256).",
                Cis("5.29")),
            (p, _) => KnownValue(p, p.PidsLimit, "the PIDs limit", l => l > 0 ? Pass(string.Create(CultureInfo.InvariantCulture, $"PIDs limited to {l}")) : Fail("the number of processes is unlimited"))),

        new(Check("BPI-SEC-021", SecuritySeverity.High, CheckScope.Container, "Secret in a plain environment variable",
                "A secret in a plain environment variable is visible in docker inspect, in the spec, in logs and in every process's environment.",
                "Move the value to ComponentSpec.Secrets: it is encrypted at rest, handed to the runtime only when the container is created, and redacted everywhere else.",
                Cis("4.10"), Trivy("DS-0031"), Nist("4.1.4")),
            (p, c) => p.PlainEnvironmentNames is null ? NotApplicable("the environment is unknown") : EvaluateSecretNames(p.PlainEnvironmentNames, c)),

        new(Check("BPI-SEC-022", SecuritySeverity.Low, CheckScope.Container, "Port published on all interfaces",
                "A port published on 0.0.0.0 is reachable from every network the host is on, not only from the proxy in front of it.",
                "Publish on a specific interface, such as 127.0.0.1 behind a local proxy (the Docker runtime's default PublishAddress).",
                Cis("5.14")),
            (p, _) => Known(p, p.PublishedPorts, "the published ports", ports =>
            {
                var open = ports.Where(x => IsAllInterfaces(x.HostIp)).ToList();
                return open.Count > 0
                    ? Fail("published on all interfaces: " + Join(open.Select(x => x.ContainerPort.ToString(CultureInfo.InvariantCulture))))
                    : Pass(ports.Count == 0 ? "no port is published" : "ports are bound to specific interfaces");
            })),

        new(Check("BPI-SEC-023", SecuritySeverity.Low, CheckScope.Container, "Privileged host port published",
                "Host ports below 1024 are reserved for system services; mapping them from a container is rarely needed.",
                "Publish on an unprivileged host port (or let the engine choose one).",
                Cis("5.8"), Pss("baseline/hostPorts"), Trivy("KSV-0024")),
            (p, _) => Known(p, p.PublishedPorts, "the published ports", ports =>
            {
                var low = ports.Where(x => x.HostPort is > 0 and < 1024).ToList();
                return low.Count > 0 ? Fail("host ports " + Join(low.Select(x => x.HostPort.ToString(CultureInfo.InvariantCulture)))) : Pass("no privileged host port");
            })),

        new(Check("BPI-SEC-024", SecuritySeverity.Medium, CheckScope.Container, "Remote administration port exposed",
                "An SSH daemon in a container is an extra way in and a sign the container is managed like a machine.",
                "Remove sshd and port 22; use docker exec through the orchestrator for diagnostics.",
                Cis("5.7"), Trivy("DS-0004")),
            (p, _) => Known(p, p.ContainerPorts, "the ports", ports => ports.Contains(22) ? Fail("listens on port 22") : Pass("no remote administration port"))),

        new(Check("BPI-SEC-025", SecuritySeverity.Medium, CheckScope.Image, "Image tag 'latest' or no tag",
                "A moving tag means the code that runs can change without a new spec, and a rollback may not return to the same image.",
                "Reference an immutable version tag, and better a digest.",
                Trivy("KSV-0013"), Trivy("DS-0001"), Nist("4.2.2")),
            (p, _) => Image(p, i => i.IsPinned ? Pass("pinned by digest") : i.IsLatest ? Fail($"'{p.Image}' uses the 'latest' tag") : Pass($"tag '{i.Tag}'"))),

        new(Check("BPI-SEC-026", SecuritySeverity.Low, CheckScope.Image, "Image not pinned by digest",
                "Tags can be moved to other content; only a digest names exactly the image that was reviewed and signed.",
                "Reference the image as repository@sha256:… (SecurityRemediator proposes it when the digest is known).",
                Cis("5.28"), Nist("4.2.2")),
            (p, _) => Image(p, i => i.IsPinned ? Pass("pinned by " + i.Digest) : Fail($"'{p.Image}' is not pinned by digest"))),

        new(Check("BPI-SEC-027", SecuritySeverity.High, CheckScope.Image, "Image from a registry outside the allowlist",
                "Images from unvetted registries bypass the organisation's scanning and provenance controls.",
                "Mirror the image into an allowed registry, or add the registry to the environment's AllowedRegistries.",
                Cis("4.2"), Trivy("KSV-0125"), Nist("4.1.5")),
            (p, c) => c.Policy.AllowedRegistries.Count == 0
                ? NotApplicable("no registry allowlist is configured for this environment")
                : Image(p, i => c.Policy.AllowedRegistries.Any(i.IsAllowedBy) ? Pass($"'{i.Name}' is allowed") : Fail($"'{i.Name}' is not in the allowlist ({Join(c.Policy.AllowedRegistries)})"))),

        new(Check("BPI-SEC-028", SecuritySeverity.High, CheckScope.Image, "Image signature not verified",
                "Without a verified signature nothing proves the image was built and approved by the organisation.",
                "Sign the image digest with cosign in CI and configure the public key in SecurityOptions.TrustedSigningKeys.",
                Cis("4.5"), Nist("4.1.5")),
            (p, c) => !c.SignatureKeysConfigured
                ? NotApplicable("no trusted signing key is configured")
                : Image(p, i => c.Signatures.TryGetValue(p.Image!, out var v)
                    ? v.Status == ImageVerificationStatus.Verified ? Pass(v.Detail) : Fail(v.Detail)
                    : NotApplicable("the signature was not checked"))),

        new(Check("BPI-SEC-029", SecuritySeverity.Low, CheckScope.Container, "No health check",
                "Without a health check a hung or broken instance keeps receiving traffic, and rollouts cannot tell a bad version from a good one.",
                "Add a health check to the component (HTTP, TCP, exec or gRPC).",
                Cis("4.6"), Cis("5.27"), Trivy("DS-0026")),
            (p, _) => p.HasHealthCheck is null ? NotApplicable("the health check is unknown")
                : p.HasHealthCheck.Value ? Pass("a health check is configured")
                : Fail(p.Source == ProfileSource.Spec ? "no health check in the spec (an image HEALTHCHECK shows only on the running container)" : "no health check")),

        new(Check("BPI-SEC-030", SecuritySeverity.Low, CheckScope.Container, "No restart policy",
                "A container without a restart policy stays down after a crash until something else notices.",
                "Set docker.restartPolicy to on-failure:5 (CIS Docker 5.15) or unless-stopped.",
                Cis("5.15")),
            (p, _) => Known(p, p.RestartPolicy, "the restart policy", r => r.Length == 0 || string.Equals(r, "no", StringComparison.OrdinalIgnoreCase) ? Fail("restart policy is 'no'") : Pass($"restart policy '{r}'"))),

        new(Check("BPI-SEC-031", SecuritySeverity.High, CheckScope.Deployment, "TLS off for an exposed HTTP service",
                "HTTP without TLS exposes credentials and data to anyone on the path and allows tampering.",
                "Set Infrastructure.Security.EncryptionLevel to Standard or higher so the service is reached over TLS.",
                Nist("4.4.2")),
            (p, c) => p.ServesHttp is not true
                ? NotApplicable("serves no HTTP")
                : c.EncryptionLevel is null ? NotApplicable("the encryption level is unknown")
                : c.EncryptionLevel == EncryptionLevel.None ? Fail("serves HTTP with encryption level None") : Pass($"encryption level {c.EncryptionLevel}{EncClusterNote(c)}")),

        new(Check("BPI-SEC-032", SecuritySeverity.High, CheckScope.Deployment, "Encryption level below the environment's minimum",
                "The environment's policy sets the lowest encryption a deployment may use; weaker settings break that promise.",
                "Raise Infrastructure.Security.EncryptionLevel to at least the environment's MinimumEncryptionLevel.",
                Nist("4.4.2")),
            null,
            c => c.EncryptionLevel is not { } level
                ? NotApplicable("the encryption level is unknown")
                : level >= c.Policy.MinimumEncryptionLevel
                    ? Pass($"encryption level {level}{EncClusterNote(c)} meets the minimum {c.Policy.MinimumEncryptionLevel} of '{c.Environment}'")
                    : Fail($"encryption level {level} is below the minimum {c.Policy.MinimumEncryptionLevel} of '{c.Environment}'")),

        new(Check("BPI-SEC-033", SecuritySeverity.Medium, CheckScope.Container, "Host user namespace shared",
                "With userns-remap disabled for the container, root inside it is root on the host.",
                "Do not set the user namespace mode to host.",
                Cis("5.31")),
            (p, _) => Known(p, p.UsernsMode, "the user namespace mode", m => IsHost(m) ? Fail("user namespace mode is host") : Pass("no host user namespace"))),
    ];

    private static CheckVerdict EvaluateSecretNames(IReadOnlyList<string> names, AssessmentContext c)
    {
        var secretLooking = names.Where(n => !c.DeclaredSecretNames.Contains(n) && c.SecretNamePattern.IsMatch(n) && !n.Contains("PUBLIC", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
        return secretLooking.Count > 0 ? Fail("plain variables named like secrets: " + Join(secretLooking)) : Pass("no plain variable is named like a secret");
    }
}
