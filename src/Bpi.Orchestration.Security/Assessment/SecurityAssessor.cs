using System.Text.RegularExpressions;
using Bpi.Orchestration.Security.Checks;
using Bpi.Orchestration.Security.Images;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Security.Assessment;

/// <summary>
/// Runs the <see cref="SecurityCheckCatalog"/> over a deployment spec (its effective settings) or over running containers,
/// under the policy of the deployment's environment, and scores the result. Thread-safe; register once (AddSecurity does).
/// </summary>
public sealed class SecurityAssessor : IDisposable
{
    private readonly SecurityOptions _options;
    private readonly TimeProvider _time;
    private readonly IImageSignatureSource? _signatures;
    private readonly CosignSignatureVerifier? _verifier;
    private readonly Regex _secretNames;

    /// <summary>Creates an assessor.</summary>
    /// <param name="options">The options; validated here, every problem listed.</param>
    /// <param name="timeProvider">The clock of <see cref="SecurityAssessment.AssessedAt"/>; <see langword="null"/> for the system clock.</param>
    /// <param name="signatureSource">Where image signatures are found (check BPI-SEC-028); <see langword="null"/> when none are available.</param>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the options are invalid.</exception>
    public SecurityAssessor(IOptions<SecurityOptions> options, TimeProvider? timeProvider = null, IImageSignatureSource? signatureSource = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = SecurityOptionsValidator.GetValidated(options);
        _time = timeProvider ?? TimeProvider.System;
        _signatures = signatureSource;
        _secretNames = new Regex(_options.SecretNamePattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        _verifier = _options.TrustedSigningKeys.Count > 0 ? new CosignSignatureVerifier(_options.TrustedSigningKeys) : null;
    }

    /// <summary>The options in force.</summary>
    public SecurityOptions Options => _options;

    /// <summary>Assesses a spec: every component's effective settings (DockLock defaults plus explicit relaxations) and the deployment's settings.</summary>
    /// <param name="spec">The spec.</param>
    /// <param name="cancellationToken">Cancels the signature lookups.</param>
    /// <returns>The assessment.</returns>
    public async ValueTask<SecurityAssessment> AssessAsync(DeploymentSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var profiles = spec.Components.Select(c => ContainerProfiles.FromSpec(c, _options.DockLock)).ToList();
        var context = await CreateContextAsync(spec, spec.Environment, profiles, declaredSecrets: null, cancellationToken).ConfigureAwait(false);
        return Evaluate(spec.Name, null, ProfileSource.Spec, profiles, context);
    }

    /// <summary>
    /// Assesses running containers of a deployment (profiles read with <c>docker inspect</c>, see
    /// <see cref="Runtime.IContainerInspector"/>). The spec, when known, supplies the environment, the encryption level
    /// and which variables are secrets the orchestrator handed over.
    /// </summary>
    /// <param name="target">The deployment's name.</param>
    /// <param name="deploymentId">The deployment's id.</param>
    /// <param name="spec">The deployment's current spec, or <see langword="null"/>.</param>
    /// <param name="containers">The containers' profiles.</param>
    /// <param name="cancellationToken">Cancels the signature lookups.</param>
    /// <returns>The assessment.</returns>
    public async ValueTask<SecurityAssessment> AssessContainersAsync(string target, string? deploymentId, DeploymentSpec? spec, IReadOnlyList<ContainerProfile> containers, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        ArgumentNullException.ThrowIfNull(containers);
        var secrets = spec is null ? null : new HashSet<string>(spec.Components.SelectMany(c => c.Secrets.Keys), StringComparer.Ordinal);
        var context = await CreateContextAsync(spec, spec?.Environment ?? "", containers, secrets, cancellationToken).ConfigureAwait(false);
        return Evaluate(target, deploymentId, ProfileSource.Runtime, containers, context);
    }

    /// <inheritdoc />
    public void Dispose() => _verifier?.Dispose();

    internal async ValueTask<AssessmentContext> CreateContextAsync(DeploymentSpec? spec, string environment, IReadOnlyList<ContainerProfile> profiles, IReadOnlySet<string>? declaredSecrets, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, ImageVerificationResult> signatures = new Dictionary<string, ImageVerificationResult>(StringComparer.Ordinal);
        if (_verifier is not null)
        {
            var results = new Dictionary<string, ImageVerificationResult>(StringComparer.Ordinal);
            foreach (var image in profiles.Where(p => p.IsContainer && p.Image is not null).Select(p => p.Image!).Distinct(StringComparer.Ordinal))
            {
                if (!ImageReference.TryParse(image, out var reference))
                {
                    continue;
                }

                IReadOnlyList<ImageSignature> found = reference.Digest is null || _signatures is null
                    ? []
                    : await _signatures.GetSignaturesAsync(reference, cancellationToken).ConfigureAwait(false);
                results[image] = _verifier.Verify(reference, found);
            }

            signatures = results;
        }

        return new AssessmentContext
        {
            Environment = environment,
            Policy = _options.GetPolicy(environment),
            EncryptionLevel = EffectiveEncryptionLevel(spec),
            EncryptedByEncCluster = IsEncCluster(spec),
            SecretNamePattern = _secretNames,
            SignatureKeysConfigured = _verifier is not null,
            Signatures = signatures,
            DeclaredSecretNames = declaredSecrets ?? new HashSet<string>(StringComparer.Ordinal),
        };
    }

    internal SecurityAssessment Evaluate(string target, string? deploymentId, ProfileSource source, IReadOnlyList<ContainerProfile> profiles, AssessmentContext context)
    {
        var entries = SecurityCheckCatalog.Entries;
        var results = new CheckResult[entries.Count];
        var findings = new List<SecurityFinding>();
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            CheckObservation[] observations;
            if (entry.PerDeployment is { } perDeployment)
            {
                var verdict = perDeployment(context);
                observations = [new CheckObservation("deployment", verdict.Outcome, verdict.Evidence)];
            }
            else
            {
                observations = new CheckObservation[profiles.Count];
                for (var p = 0; p < profiles.Count; p++)
                {
                    var verdict = entry.PerContainer!(profiles[p], context);
                    observations[p] = new CheckObservation(profiles[p].ComponentId, verdict.Outcome, verdict.Evidence);
                }
            }

            var outcome = Combine(observations);
            results[i] = new CheckResult(entry.Check, outcome, observations);
            if (outcome == CheckOutcome.Failed)
            {
                var failed = observations.Where(o => o.Outcome == CheckOutcome.Failed).ToList();
                findings.Add(new SecurityFinding(
                    entry.Check.Id,
                    entry.Check.Title,
                    entry.Check.Severity,
                    [.. failed.Select(o => o.Subject)],
                    string.Join("; ", failed.Select(o => o.Subject + ": " + o.Evidence)),
                    entry.Check.Remediation));
            }
        }

        findings.Sort(static (a, b) => b.Severity != a.Severity ? b.Severity.CompareTo(a.Severity) : string.CompareOrdinal(a.CheckId, b.CheckId));
        return new SecurityAssessment
        {
            Target = target,
            DeploymentId = deploymentId,
            Environment = context.Environment,
            Source = source,
            AssessedAt = _time.GetUtcNow(),
            Score = SecurityScore.Compute(results),
            Results = results,
            Findings = findings,
        };
    }

    private static CheckOutcome Combine(CheckObservation[] observations)
    {
        var outcome = CheckOutcome.NotApplicable;
        foreach (var observation in observations)
        {
            if (observation.Outcome == CheckOutcome.Failed)
            {
                return CheckOutcome.Failed;
            }

            if (observation.Outcome == CheckOutcome.Passed)
            {
                outcome = CheckOutcome.Passed;
            }
        }

        return outcome;
    }
    /// <summary>
    /// The encryption a deployment really gets: its declared level, raised to <see cref="EncryptionLevel.Maximum"/> for an
    /// EncCluster with aes256gcm, whose every connection is mutual TLS 1.3 with AES-256-GCM.
    /// </summary>
    internal static EncryptionLevel? EffectiveEncryptionLevel(DeploymentSpec? spec)
    {
        var declared = spec?.Infrastructure?.Security?.EncryptionLevel;
        return IsEncCluster(spec) && (declared is null || declared < EncryptionLevel.Maximum) ? EncryptionLevel.Maximum : declared;
    }

    private static bool IsEncCluster(DeploymentSpec? spec)
        => spec is { Type: DeploymentType.EncCluster, EncCluster: { } enc } && string.Equals(enc.EncryptionAlgorithm, EncClusterSpec.Aes256Gcm, StringComparison.OrdinalIgnoreCase);
}
