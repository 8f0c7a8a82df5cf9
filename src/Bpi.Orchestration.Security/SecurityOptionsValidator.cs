using System.Globalization;
using System.Text.RegularExpressions;
using Bpi.Orchestration.Security.Gate;
using Bpi.Orchestration.Security.Images;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Security;

/// <summary>Validates <see cref="SecurityOptions"/> as a whole and lists every problem.</summary>
internal sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Reads the options (running registered validators) and validates them again directly, so options built without DI are checked too.</summary>
    public static SecurityOptions GetValidated(IOptions<SecurityOptions> options)
        => ValidatedOptions.Ensure(options.Value, new SecurityOptionsValidator());

    internal static List<string> Collect(SecurityOptions options)
    {
        var errors = new List<string>();
        CheckPolicy("SecurityOptions.DefaultPolicy", options.DefaultPolicy, options, errors);
        foreach (var (environment, policy) in options.Environments.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (string.IsNullOrWhiteSpace(environment))
            {
                errors.Add("SecurityOptions.Environments: an entry has an empty name; name the environment it applies to.");
            }

            if (policy is null)
            {
                errors.Add($"SecurityOptions.Environments['{environment}']: null; give it a SecurityEnvironmentPolicy or remove it.");
                continue;
            }

            CheckPolicy($"SecurityOptions.Environments['{environment}']", policy, options, errors);
        }

        try
        {
            _ = new Regex(options.SecretNamePattern ?? "", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            if (string.IsNullOrWhiteSpace(options.SecretNamePattern))
            {
                errors.Add("SecurityOptions.SecretNamePattern: empty, which would mark every variable as a secret; use SecurityOptions.DefaultSecretNamePattern or your own expression.");
            }
        }
        catch (ArgumentException ex)
        {
            errors.Add($"SecurityOptions.SecretNamePattern: not a valid regular expression ({ex.Message}); fix the expression.");
        }

        for (var i = 0; i < options.TrustedSigningKeys.Count; i++)
        {
            if (!CosignSignatureVerifier.IsValidPublicKey(options.TrustedSigningKeys[i] ?? "", out var error))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"SecurityOptions.TrustedSigningKeys[{i}]: {error}; give the PEM text of a cosign.pub (ECDSA P-256)."));
            }
        }

        if (options.ReassessmentInterval != Timeout.InfiniteTimeSpan && options.ReassessmentInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"SecurityOptions.ReassessmentInterval: {options.ReassessmentInterval} is under 1 second; use at least 1 second, or Timeout.InfiniteTimeSpan to turn re-assessment off.");
        }

        if (string.IsNullOrWhiteSpace(options.DockLock.NonRootUser))
        {
            errors.Add("SecurityOptions.DockLock.NonRootUser: empty; set it to the Docker runtime's NonRootUser (default 65534:65534).");
        }

        if (options.DockLock.DefaultPidsLimit <= 0)
        {
            errors.Add($"SecurityOptions.DockLock.DefaultPidsLimit: {options.DockLock.DefaultPidsLimit} is not positive; set it to the Docker runtime's DefaultPidsLimit (a positive number).");
        }

        if (!options.IncludeBuiltInComplianceMappings && options.ComplianceMappings.Count == 0)
        {
            errors.Add("SecurityOptions.ComplianceMappings: empty while IncludeBuiltInComplianceMappings is false; give at least one mapping document.");
        }

        for (var i = 0; i < options.ComplianceMappings.Count; i++)
        {
            try
            {
                _ = Compliance.ComplianceCatalog.Parse(options.ComplianceMappings[i] ?? "");
            }
            catch (OrchestrationException ex)
            {
                errors.AddRange(ex.Errors.Select(e => string.Create(CultureInfo.InvariantCulture, $"SecurityOptions.ComplianceMappings[{i}]: {e}")));
            }
        }

        return errors;
    }

    private static void CheckPolicy(string name, SecurityEnvironmentPolicy policy, SecurityOptions options, List<string> errors)
    {
        if (double.IsNaN(policy.MinimumScore) || policy.MinimumScore is < 0 or > 10)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{name}.MinimumScore: {policy.MinimumScore} is out of range; use a score between 0 and 10."));
        }

        if (policy.BlockingSeverity is { } severity && !Enum.IsDefined(severity))
        {
            errors.Add($"{name}.BlockingSeverity: {(int)severity} is not a severity; use one of {string.Join(", ", Enum.GetNames<Bpi.Orchestration.Security.Checks.SecuritySeverity>())}.");
        }

        if (!Enum.IsDefined(policy.MinimumEncryptionLevel))
        {
            errors.Add($"{name}.MinimumEncryptionLevel: {(int)policy.MinimumEncryptionLevel} is not an encryption level; use one of {string.Join(", ", Enum.GetNames<EncryptionLevel>())}.");
        }

        foreach (var registry in policy.AllowedRegistries)
        {
            if (string.IsNullOrWhiteSpace(registry) || registry.Contains(' ', StringComparison.Ordinal) || registry.Contains('@', StringComparison.Ordinal))
            {
                errors.Add($"{name}.AllowedRegistries: '{registry}' is not a registry; give a registry host (ghcr.io) or a repository prefix (docker.io/library).");
            }
        }

        if (policy.RequireSignedImages && options.TrustedSigningKeys.Count == 0)
        {
            errors.Add($"{name}.RequireSignedImages: true but SecurityOptions.TrustedSigningKeys is empty; add the public key images are signed with.");
        }
    }
}
