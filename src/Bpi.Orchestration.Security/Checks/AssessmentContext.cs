using System.Text.RegularExpressions;
using Bpi.Orchestration.Security.Gate;
using Bpi.Orchestration.Security.Images;

namespace Bpi.Orchestration.Security.Checks;

/// <summary>The facts beyond a container's own settings that checks need: the environment's policy and deployment-wide settings.</summary>
internal sealed class AssessmentContext
{
    public required string Environment { get; init; }

    public required SecurityEnvironmentPolicy Policy { get; init; }

    /// <summary>The deployment's encryption level, or <see langword="null"/> when unknown.</summary>
    public EncryptionLevel? EncryptionLevel { get; init; }

    /// <summary>Whether <see cref="EncryptionLevel"/> comes from the EncCluster component manager (mutual TLS 1.3, AES-256-GCM) rather than the declared level.</summary>
    public bool EncryptedByEncCluster { get; init; }

    public required Regex SecretNamePattern { get; init; }

    /// <summary>Whether any trusted signing key is configured (else signature checks do not apply).</summary>
    public bool SignatureKeysConfigured { get; init; }

    /// <summary>The outcome of signature verification by image reference.</summary>
    public IReadOnlyDictionary<string, ImageVerificationResult> Signatures { get; init; } = new Dictionary<string, ImageVerificationResult>(StringComparer.Ordinal);

    /// <summary>Environment variable names that carry secrets handed over by the orchestrator (runtime view): not plain.</summary>
    public IReadOnlySet<string> DeclaredSecretNames { get; init; } = new HashSet<string>(StringComparer.Ordinal);
}

/// <summary>A check's verdict on one container or deployment.</summary>
internal readonly record struct CheckVerdict(CheckOutcome Outcome, string Evidence)
{
    public static CheckVerdict Pass(string evidence) => new(CheckOutcome.Passed, evidence);

    public static CheckVerdict Fail(string evidence) => new(CheckOutcome.Failed, evidence);

    public static CheckVerdict NotApplicable(string why) => new(CheckOutcome.NotApplicable, why);
}
