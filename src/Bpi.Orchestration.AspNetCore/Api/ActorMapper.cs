using System.Security.Claims;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>Maps the request's authenticated principal to the SDK's actor, so the Security package's policy decides on it.</summary>
internal static class ActorMapper
{
    /// <summary>The id of the actor of a request that is not authenticated.</summary>
    public const string AnonymousId = "anonymous";

    public static OrchestrationActor Map(ClaimsPrincipal? principal, OrchestrationApiOptions options)
    {
        if (principal is not null && options.ActorFactory is { } factory)
        {
            return factory(principal);
        }

        if (principal?.Identities.FirstOrDefault(i => i.IsAuthenticated) is not { } identity)
        {
            return new OrchestrationActor { Id = AnonymousId };
        }

        string? id = null;
        foreach (var type in options.UserIdClaimTypes)
        {
            if (principal.FindFirst(type)?.Value is { Length: > 0 } value)
            {
                id = value;
                break;
            }
        }

        var roleTypes = new HashSet<string>(options.RoleClaimTypes, StringComparer.Ordinal) { identity.RoleClaimType };
        var roles = principal.Claims.Where(c => roleTypes.Contains(c.Type))
            .SelectMany(c => c.Value.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (claim, attribute) in options.AttributeClaims)
        {
            if (principal.FindFirst(claim)?.Value is { } value)
            {
                attributes[attribute] = value;
            }
        }

        // An authenticated principal without any id claim still must not act as someone else: it gets a name that no
        // user rule can match by accident.
        return new OrchestrationActor { Id = id ?? "authenticated-without-id", Roles = roles, Attributes = attributes };
    }
}
