using System.Security.Claims;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>Settings of the HTTP API that <c>MapOrchestrationApi</c> maps.</summary>
public sealed class OrchestrationApiOptions
{
    /// <summary>The largest request body an endpoint reads, in bytes; a larger one is refused with 413 before it is parsed.</summary>
    /// <value>The default value is 1 MiB (1,048,576 bytes).</value>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Claim types read, in order, for the actor's id; the first one the principal has wins.
    /// </summary>
    /// <value>The default value is <see cref="ClaimTypes.NameIdentifier"/>, <c>sub</c>, <see cref="ClaimTypes.Name"/>, <c>name</c>.</value>
    public IList<string> UserIdClaimTypes { get; } = [ClaimTypes.NameIdentifier, "sub", ClaimTypes.Name, "name"];

    /// <summary>Claim types whose values are the actor's roles (besides the identity's own role claim type).</summary>
    /// <value>The default value is <see cref="ClaimTypes.Role"/>, <c>role</c>, <c>roles</c>.</value>
    public IList<string> RoleClaimTypes { get; } = [ClaimTypes.Role, "role", "roles"];

    /// <summary>
    /// Claims copied into the actor's attributes for attribute-based rules: claim type → attribute name
    /// (for example <c>team</c> → <c>team</c>).
    /// </summary>
    /// <value>The default value is empty.</value>
    public IDictionary<string, string> AttributeClaims { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Replaces the mapping from the request's principal to the SDK's actor altogether, when set. The actor of an
    /// unauthenticated request is <c>anonymous</c> with no roles unless this says otherwise.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: the claims named above are read.</value>
    public Func<ClaimsPrincipal, OrchestrationActor>? ActorFactory { get; set; }

    /// <summary>Checks the options and lists every problem.</summary>
    /// <returns>One sentence per problem; empty when the options are valid.</returns>
    internal List<string> Validate()
    {
        var errors = new List<string>();
        if (MaxRequestBodyBytes is < 1024 or > 64L * 1024 * 1024)
        {
            errors.Add($"{nameof(OrchestrationApiOptions)}.{nameof(MaxRequestBodyBytes)}: {MaxRequestBodyBytes} is outside 1024..67108864; use a size between 1 KiB and 64 MiB.");
        }

        if (UserIdClaimTypes.Count == 0 && ActorFactory is null)
        {
            errors.Add($"{nameof(OrchestrationApiOptions)}.{nameof(UserIdClaimTypes)}: empty; name at least one claim type for the actor's id, or set ActorFactory.");
        }

        return errors;
    }
}
