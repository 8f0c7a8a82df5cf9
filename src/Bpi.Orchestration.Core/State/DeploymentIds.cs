using System.Buffers;

namespace Bpi.Orchestration.State;

/// <summary>
/// The grammar of deployment ids, defined once. The orchestrator makes ids of the deployment's name (a DNS label), a
/// dash and 8 hex digits; an id a caller passes in is checked against this grammar before anything looks it up, so an
/// id can never name a path (no separators, no <c>..</c>, no leading dot) in a store, a marker file or a log line.
/// </summary>
public static class DeploymentIds
{
    /// <summary>The longest id accepted: 128 characters (a 63-character name, a dash and 8 hex digits fit well within).</summary>
    public const int MaxLength = 128;

    /// <summary>The grammar, in words, for error messages.</summary>
    public const string Grammar = "1 to 128 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit";

    /// <summary>The characters an id may contain (<see cref="Grammar"/>).</summary>
    private static readonly SearchValues<char> IdCharacters = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    /// <summary>Whether <paramref name="id"/> is a well-formed deployment id: <see cref="Grammar"/>.</summary>
    /// <param name="id">The candidate id.</param>
    /// <returns><see langword="true"/> when the id is well formed (it may still name no deployment).</returns>
    public static bool IsValid(string? id)
    {
        // One vectorised scan for a character outside the grammar: every operation checks the id it is given.
        return !string.IsNullOrEmpty(id) && id.Length <= MaxLength && char.IsAsciiLetterOrDigit(id[0]) && !id.AsSpan().ContainsAnyExcept(IdCharacters);
    }

    /// <summary>Throws <see cref="OrchestrationErrorKind.NotFound"/> when <paramref name="id"/> is not a well-formed id: no deployment can have it.</summary>
    internal static void ThrowIfInvalid(string? id)
    {
        if (!IsValid(id))
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"'{Shorten(id)}' is not a deployment id (an id is {Grammar}); list the deployments to find its id.");
        }
    }

    private static string Shorten(string? id) => id is null ? "" : id.Length > MaxLength ? id[..MaxLength] + "…" : id;
}
