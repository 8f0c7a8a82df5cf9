using Bpi.Orchestration.Security.Authorization;
using Bpi.Orchestration.Security.Compliance;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Security;

/// <summary>
/// Both option sets of the package, validated together so one exception lists every problem of either; the first
/// service of the package that is resolved (the orchestrator resolves the authorizer and the gate) does it.
/// </summary>
internal sealed class SecurityConfiguration
{
    public SecurityConfiguration(IOptions<SecurityOptions> security, IOptions<AuthorizationOptions> authorization)
    {
        var errors = new List<string>();
        SecurityOptions? securityOptions = null;
        AuthorizationOptions? authorizationOptions = null;
        try
        {
            securityOptions = security.Value;
            errors.AddRange(SecurityOptionsValidator.Collect(securityOptions));
        }
        catch (OptionsValidationException ex)
        {
            errors.AddRange(ex.Failures);
        }

        try
        {
            authorizationOptions = authorization.Value;
            Policy = authorizationOptions.BuildPolicy();
        }
        catch (OptionsValidationException ex)
        {
            errors.AddRange(ex.Failures);
        }
        catch (OrchestrationException ex)
        {
            errors.AddRange(AuthorizationOptionsValidator.Problems(ex));
        }

        if (errors.Count > 0)
        {
            // One exception lists the problems of both option sets; it names SecurityOptions unless only the authorization
            // options are wrong (each problem names its own type either way).
            var type = errors.Exists(e => e.StartsWith(nameof(SecurityOptions) + ".", StringComparison.Ordinal)) ? typeof(SecurityOptions) : typeof(AuthorizationOptions);
            throw new OptionsValidationException(Options.DefaultName, type, [.. errors.Distinct(StringComparer.Ordinal)]);
        }

        Security = securityOptions!;
        Authorization = authorizationOptions!;
        Compliance = Security.BuildComplianceCatalog();
    }

    public SecurityOptions Security { get; }

    public AuthorizationOptions Authorization { get; }

    public AuthorizationPolicy Policy { get; } = null!;

    public ComplianceCatalog Compliance { get; }
}

/// <summary>Runs the combined validation through the options pipeline, so a generic host's ValidateOnStart lists every problem at startup.</summary>
internal sealed class AuthorizationOptionsValidator : IValidateOptions<AuthorizationOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthorizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            options.BuildPolicy();
            return ValidateOptionsResult.Success;
        }
        catch (OrchestrationException ex)
        {
            return ValidateOptionsResult.Fail(Problems(ex));
        }
    }

    /// <summary>The policy's problems as options problems: "<c>AuthorizationOptions.PolicyTexts[0]: …</c>".</summary>
    internal static IEnumerable<string> Problems(OrchestrationException error) => error.Errors.Select(e => $"{nameof(AuthorizationOptions)}.{e}");
}
