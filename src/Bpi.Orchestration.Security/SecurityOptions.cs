using Bpi.Orchestration.Hardening;
using Bpi.Orchestration.Security.Checks;
using Bpi.Orchestration.Security.Gate;

namespace Bpi.Orchestration.Security;

/// <summary>
/// Settings of the Security package: the policy of each environment, the runtime defaults specs are read against,
/// the secret-name heuristic, trusted image signing keys and the re-assessment period. Validated as a whole when the
/// package is first used (every problem listed).
/// </summary>
public sealed class SecurityOptions
{
    /// <summary>
    /// The default heuristic for secret-looking environment variable names: Trivy DS-0031's (adopted from BuildKit),
    /// case-insensitive; names containing <c>PUBLIC</c> are exempt.
    /// </summary>
    public const string DefaultSecretNamePattern = "(?:_|^)(?:APIKEY|API_KEY|AUTH|CREDENTIAL|CREDENTIALS|KEY|PASSWORD|PWORD|PASSWD|PASS|SECRET|TOKEN|USR|PSW|PRIVATE_KEY|CONNECTION_STRING|CONNECTIONSTRING)(?:_|$)";

    /// <summary>Creates options with the built-in policies: the default and <c>production</c>.</summary>
    public SecurityOptions()
    {
        var production = new SecurityEnvironmentPolicy
        {
            MinimumScore = 7.0,
            BlockingSeverity = SecuritySeverity.High,
            MinimumEncryptionLevel = EncryptionLevel.High,
            RequireDigestPinning = true,
        };
        Environments["production"] = production;
    }

    /// <summary>The policy of every environment without an entry in <see cref="Environments"/>: no minimum score, critical findings block, encryption Standard.</summary>
    public SecurityEnvironmentPolicy DefaultPolicy { get; } = new();

    /// <summary>
    /// Policies by environment name (case-insensitive). Contains <c>production</c> by default: minimum score 7.0, high and
    /// critical findings block, encryption High, images pinned by digest. Replace or remove it as the organisation decides.
    /// </summary>
    public IDictionary<string, SecurityEnvironmentPolicy> Environments { get; } = new Dictionary<string, SecurityEnvironmentPolicy>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The runtime defaults a spec's effective settings are derived from (<see cref="DockLockEffectiveSettings"/>). In a
    /// host whose runtime publishes its defaults (a <see cref="DockLockDefaults"/> service, as the Docker runtime's
    /// <c>AddDocker</c> does), <c>AddSecurity</c> takes them from there, so they are set in one place — the runtime's
    /// options; set them here only for an assessor used without such a runtime.
    /// </summary>
    public DockLockDefaults DockLock { get; } = new();

    /// <summary>The regular expression (case-insensitive) that marks an environment variable name as secret-looking (check BPI-SEC-021).</summary>
    /// <value>The default value is <see cref="DefaultSecretNamePattern"/>.</value>
    public string SecretNamePattern { get; set; } = DefaultSecretNamePattern;

    /// <summary>PEM-encoded ECDSA P-256 public keys (as written by <c>cosign generate-key-pair</c>) whose signatures make an image trusted (check BPI-SEC-028).</summary>
    public IList<string> TrustedSigningKeys { get; } = [];

    /// <summary>How often running deployments are re-assessed; <see cref="Timeout.InfiniteTimeSpan"/> turns re-assessment off.</summary>
    /// <value>The default value is 15 minutes.</value>
    public TimeSpan ReassessmentInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Compliance mapping documents (JSON, the format of <see cref="Compliance.ComplianceCatalog.Parse"/>) merged, in order, over the
    /// built-in mappings: new frameworks and controls are added, controls with an existing id are replaced.
    /// </summary>
    public IList<string> ComplianceMappings { get; } = [];

    /// <summary>Whether the built-in mappings are the base <see cref="ComplianceMappings"/> are merged over; <see langword="false"/> uses only the host's documents.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool IncludeBuiltInComplianceMappings { get; set; } = true;

    /// <summary>The policy of an environment: its entry in <see cref="Environments"/>, else <see cref="DefaultPolicy"/>.</summary>
    /// <param name="environment">The environment name.</param>
    /// <returns>The policy.</returns>
    public SecurityEnvironmentPolicy GetPolicy(string environment)
        => environment is not null && Environments.TryGetValue(environment, out var policy) ? policy : DefaultPolicy;

    /// <summary>Builds the compliance catalogue these options describe.</summary>
    /// <returns>The built-in mappings (unless excluded) with <see cref="ComplianceMappings"/> merged over them.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: a document is invalid, or there are no mappings at all.</exception>
    public Compliance.ComplianceCatalog BuildComplianceCatalog()
    {
        Compliance.ComplianceCatalog? catalog = IncludeBuiltInComplianceMappings ? Compliance.ComplianceCatalog.BuiltIn : null;
        foreach (var json in ComplianceMappings)
        {
            var parsed = Compliance.ComplianceCatalog.Parse(json);
            catalog = catalog is null ? parsed : catalog.Merge(parsed);
        }

        return catalog ?? throw OrchestrationException.InvalidConfiguration("Security options", ["IncludeBuiltInComplianceMappings is false and ComplianceMappings is empty; give at least one mapping document."]);
    }
}
