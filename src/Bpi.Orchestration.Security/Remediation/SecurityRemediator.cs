using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Checks;
using Bpi.Orchestration.Security.Images;
using Keys = Bpi.Orchestration.Hardening.DockLockSettings;

namespace Bpi.Orchestration.Security.Remediation;

/// <summary>
/// Produces a hardened spec from a spec's findings: safe fixes applied (restore no-new-privileges, dropping all
/// capabilities, the read-only root with its tmpfs, CPU/memory/PIDs limits; remove added capabilities beyond
/// NET_BIND_SERVICE; a bounded restart policy), risky ones proposed with the reason (non-root user, digest pinning,
/// moving secret-looking variables to secrets, raising the encryption level), and the rest left to a person. The result
/// is re-assessed, so the improvement shows. A live deployment is changed only by <see cref="ApplyAsync"/>.
/// </summary>
public sealed class SecurityRemediator
{
    /// <summary>The audit action of an applied remediation.</summary>
    public const string AuditAction = "security.remediation";

    private static readonly string[] EncryptionChecks = ["BPI-SEC-031", "BPI-SEC-032"];
    private static readonly string[] CapabilityChecks = ["BPI-SEC-003", "BPI-SEC-012"];
    private static readonly string[] LimitChecks = ["BPI-SEC-018", "BPI-SEC-019"];
    private static readonly string[] ImageChecks = ["BPI-SEC-025", "BPI-SEC-026"];

    private readonly SecurityAssessor _assessor;

    /// <summary>Creates a remediator.</summary>
    /// <param name="assessor">The assessor that judges the result.</param>
    public SecurityRemediator(SecurityAssessor assessor)
    {
        ArgumentNullException.ThrowIfNull(assessor);
        _assessor = assessor;
    }

    /// <summary>Remediates a spec (nothing is deployed).</summary>
    /// <param name="spec">The spec.</param>
    /// <param name="options">Accepted proposals and known digests; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels the assessments.</param>
    /// <returns>The hardened spec, every action, and both assessments.</returns>
    public async ValueTask<RemediationResult> RemediateAsync(DeploymentSpec spec, RemediationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new RemediationOptions();
        var before = await _assessor.AssessAsync(spec, cancellationToken).ConfigureAwait(false);
        var actions = new List<RemediationAction>();
        var failed = before.Findings.ToDictionary(f => f.CheckId, StringComparer.Ordinal);
        var policy = _assessor.Options.GetPolicy(spec.Environment);
        var components = new List<ComponentSpec>(spec.Components.Count);
        foreach (var component in spec.Components)
        {
            components.Add(Harden(component, failed, options, actions));
        }

        var hardened = spec with { Components = components };
        if (failed.ContainsKey("BPI-SEC-032") || failed.ContainsKey("BPI-SEC-031"))
        {
            var target = (EncryptionLevel)Math.Max((int)policy.MinimumEncryptionLevel, (int)EncryptionLevel.Standard);
            foreach (var id in EncryptionChecks.Where(failed.ContainsKey))
            {
                if (options.AcceptedProposals.Contains(id))
                {
                    hardened = hardened with { Infrastructure = hardened.Infrastructure with { Security = hardened.Infrastructure.Security with { EncryptionLevel = target } } };
                    actions.Add(new RemediationAction(id, "deployment", RemediationKind.Applied, $"raise the encryption level to {target}"));
                }
                else
                {
                    actions.Add(new RemediationAction(id, "deployment", RemediationKind.Proposed, $"raise the encryption level to {target}", "clients must then connect with TLS; accept it once they can"));
                }
            }
        }

        foreach (var finding in before.Findings.Where(f => !actions.Any(a => a.CheckId == f.CheckId)))
        {
            foreach (var subject in finding.Subjects)
            {
                actions.Add(new RemediationAction(finding.CheckId, subject, RemediationKind.Manual, finding.Remediation, "the SDK cannot infer this fix"));
            }
        }

        var after = await _assessor.AssessAsync(hardened, cancellationToken).ConfigureAwait(false);
        return new RemediationResult(spec, hardened, actions, before, after);
    }

    /// <summary>
    /// Applies a remediation to a live deployment as an update (authorized, gated and audited like any update), and appends
    /// an audit entry of its own naming the checks fixed. Call it only when the operator asked for it.
    /// </summary>
    /// <param name="vm">The orchestrator.</param>
    /// <param name="deploymentId">The deployment whose spec was remediated.</param>
    /// <param name="result">The remediation of its current spec.</param>
    /// <param name="audit">Where to append the remediation entry; <see langword="null"/> to rely on the update's own entry.</param>
    /// <param name="timeProvider">The clock of the audit entry; <see langword="null"/> for the system clock.</param>
    /// <param name="cancellationToken">Cancels the admission of the update.</param>
    /// <returns>The new revision number.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.Conflict"/>: the remediation changes nothing.</exception>
    public static async Task<int> ApplyAsync(IOrchestrationVm vm, string deploymentId, RemediationResult result, IAuditSink? audit = null, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        ArgumentNullException.ThrowIfNull(result);
        if (!result.Changed)
        {
            throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"The remediation of '{result.Original.Name}' applies no change; accept a proposal or fix the manual findings first.");
        }

        var revision = await vm.UpdateAsync(deploymentId, result.Hardened, cancellationToken).ConfigureAwait(false);
        if (audit is not null)
        {
            var applied = result.Actions.Where(a => a.Kind == RemediationKind.Applied).ToList();
            await audit.AppendAsync(
                new AuditEvent((timeProvider ?? TimeProvider.System).GetUtcNow(), OrchestrationActor.Current.Id, AuditAction, deploymentId, "applied", new Dictionary<string, string?>(StringComparer.Ordinal)
                {
                    ["revision"] = revision.ToString(CultureInfo.InvariantCulture),
                    ["checks"] = string.Join(",", applied.Select(a => a.CheckId).Distinct(StringComparer.Ordinal)),
                    ["changes"] = string.Join(" | ", applied.Select(a => a.Subject + ": " + a.Description)),
                    ["scoreBefore"] = result.Before.Score.ToString("0.00", CultureInfo.InvariantCulture),
                    ["scoreAfter"] = result.After.Score.ToString("0.00", CultureInfo.InvariantCulture),
                }),
                cancellationToken).ConfigureAwait(false);
        }

        return revision;
    }

    private ComponentSpec Harden(ComponentSpec component, Dictionary<string, SecurityFinding> failed, RemediationOptions options, List<RemediationAction> actions)
    {
        bool Fails(string id) => failed.TryGetValue(id, out var f) && f.Subjects.Contains(component.Id, StringComparer.Ordinal);
        var settings = new Dictionary<string, string>(component.RuntimeSettings, StringComparer.Ordinal);
        var environment = new Dictionary<string, string>(component.Environment, StringComparer.Ordinal);
        var secrets = new Dictionary<string, string>(component.Secrets, StringComparer.Ordinal);
        var resources = component.Resources;
        var image = component.Image;

        void Restore(string id, string key, string what)
        {
            if (Fails(id))
            {
                settings.Remove(key);
                settings.Remove(key + Keys.ReasonSuffix);
                actions.Add(new RemediationAction(id, component.Id, RemediationKind.Applied, what));
            }
        }

        Restore("BPI-SEC-010", Keys.NoNewPrivileges, "restore no-new-privileges (remove the docklock.noNewPrivileges relaxation)");
        Restore("BPI-SEC-011", Keys.DropAllCapabilities, "drop all capabilities (remove the docklock.dropAllCapabilities relaxation)");
        Restore("BPI-SEC-013", Keys.ReadOnlyRootFilesystem, "mount the root filesystem read-only with a tmpfs at /tmp (remove the docklock.readOnlyRootFilesystem relaxation)");

        if (Fails("BPI-SEC-003") || Fails("BPI-SEC-012"))
        {
            var kept = settings.TryGetValue(Keys.AddCapabilities, out var caps)
                ? caps.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(DockLockEffectiveSettings.NormalizeCapability).Where(c => c == "NET_BIND_SERVICE").Distinct(StringComparer.Ordinal).ToList()
                : [];
            if (kept.Count > 0)
            {
                settings[Keys.AddCapabilities] = string.Join(",", kept);
            }
            else
            {
                settings.Remove(Keys.AddCapabilities);
            }

            foreach (var id in CapabilityChecks.Where(Fails))
            {
                actions.Add(new RemediationAction(id, component.Id, RemediationKind.Applied, "remove added capabilities other than NET_BIND_SERVICE"));
            }
        }

        if (Fails("BPI-SEC-018") || Fails("BPI-SEC-019"))
        {
            settings.Remove(Keys.ResourceLimits);
            settings.Remove(Keys.ResourceLimits + Keys.ReasonSuffix);
            resources = resources with
            {
                CpuCores = resources.CpuCores > 0 ? resources.CpuCores : 0.5,
                MemoryMb = resources.MemoryMb >= 6 ? resources.MemoryMb : 256,
            };
            foreach (var id in LimitChecks.Where(Fails))
            {
                actions.Add(new RemediationAction(id, component.Id, RemediationKind.Applied, string.Create(CultureInfo.InvariantCulture, $"enforce CPU and memory limits ({resources.CpuCores:0.###} cores, {resources.MemoryMb} MB)")));
            }
        }

        if (Fails("BPI-SEC-020"))
        {
            settings.Remove(Keys.PidsLimit + Keys.ReasonSuffix);
            settings[Keys.PidsLimit] = _assessor.Options.DockLock.DefaultPidsLimit.ToString(CultureInfo.InvariantCulture);
            actions.Add(new RemediationAction("BPI-SEC-020", component.Id, RemediationKind.Applied, $"limit PIDs to {settings[Keys.PidsLimit]}"));
        }

        if (Fails("BPI-SEC-030"))
        {
            settings[Keys.RestartPolicy] = "on-failure:5";
            actions.Add(new RemediationAction("BPI-SEC-030", component.Id, RemediationKind.Applied, "set the restart policy to on-failure:5 (CIS Docker 5.15)"));
        }

        if (Fails("BPI-SEC-009"))
        {
            if (options.AcceptedProposals.Contains("BPI-SEC-009"))
            {
                settings.Remove(Keys.NonRootUser);
                settings.Remove(Keys.NonRootUser + Keys.ReasonSuffix);
                if (settings.TryGetValue(Keys.User, out var user) && Checks.SecurityCheckCatalog.RunsAsRoot(user))
                {
                    settings.Remove(Keys.User);
                }

                actions.Add(new RemediationAction("BPI-SEC-009", component.Id, RemediationKind.Applied, $"run as a non-root user ({_assessor.Options.DockLock.NonRootUser} unless the image names one)"));
            }
            else
            {
                actions.Add(new RemediationAction("BPI-SEC-009", component.Id, RemediationKind.Proposed, "run as a non-root user (restore docklock.nonRootUser)", "the image may need root to bind ports or write files it owns; test it, then accept BPI-SEC-009"));
            }
        }

        if ((Fails("BPI-SEC-025") || Fails("BPI-SEC-026")) && image is not null)
        {
            var known = options.ImageDigests.TryGetValue(image, out var digest) && ImageReference.TryParse(image, out var reference)
                ? reference with { Digest = digest.ToLowerInvariant() }
                : null;
            var description = known is null ? "pin the image by digest (repository@sha256:…)" : $"pin the image as {known}";
            foreach (var id in ImageChecks.Where(Fails))
            {
                if (known is not null && options.AcceptedProposals.Contains(id))
                {
                    image = known.ToString();
                    actions.Add(new RemediationAction(id, component.Id, RemediationKind.Applied, description));
                }
                else
                {
                    actions.Add(new RemediationAction(id, component.Id, RemediationKind.Proposed, description,
                        known is null ? "the digest must be resolved from the registry (give it in RemediationOptions.ImageDigests)" : "pinning freezes the image; accept it once the digest is the reviewed one"));
                }
            }
        }

        if (Fails("BPI-SEC-021"))
        {
            var pattern = new System.Text.RegularExpressions.Regex(_assessor.Options.SecretNamePattern, System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            var moving = environment.Keys.Where(k => pattern.IsMatch(k) && !k.Contains("PUBLIC", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
            if (options.AcceptedProposals.Contains("BPI-SEC-021"))
            {
                foreach (var name in moving)
                {
                    secrets[name] = environment[name];
                    environment.Remove(name);
                }

                actions.Add(new RemediationAction("BPI-SEC-021", component.Id, RemediationKind.Applied, "move " + string.Join(", ", moving) + " to Secrets"));
            }
            else
            {
                actions.Add(new RemediationAction("BPI-SEC-021", component.Id, RemediationKind.Proposed, "move " + string.Join(", ", moving) + " to Secrets", "the name pattern may flag a value that is not secret; confirm, then accept BPI-SEC-021"));
            }
        }

        return component with { RuntimeSettings = settings, Environment = environment, Secrets = secrets, Resources = resources, Image = image };
    }
}
