using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Xunit;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// The SDK's one contract for bad options: an <see cref="OptionsValidationException"/> (at host start, or when a component
/// built without a host reads its options) whose failures each read "<c>&lt;OptionsType&gt;.&lt;Property&gt;: problem; what to do</c>".
/// </summary>
public static partial class OptionsProblems
{
    /// <summary>
    /// The failures of <paramref name="error"/>; fails the test unless it is an <see cref="OptionsValidationException"/> for
    /// <paramref name="optionsType"/> whose every failure starts with "<c>OptionsType.Property</c>" (or an indexed path under
    /// it) followed by ": ".
    /// </summary>
    public static IReadOnlyList<string> Of(Exception error, Type optionsType)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(optionsType);
        var options = error as OptionsValidationException
            ?? throw new Xunit.Sdk.XunitException($"Bad options failed with {error.GetType().Name}, not OptionsValidationException: {error}");
        Assert.Equal(optionsType, options.OptionsType);
        foreach (var failure in options.Failures)
        {
            Assert.True(
                failure.StartsWith(optionsType.Name + ".", StringComparison.Ordinal) && Wording().IsMatch(failure),
                $"'{failure}' does not read '{optionsType.Name}.<Property>: problem; what to do'.");
        }

        return [.. options.Failures];
    }

    /// <summary>"Type.Property[...]...: problem" — the path, a colon and a space, then the text.</summary>
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*|\[[^\]]+\])+: \S")]
    private static partial Regex Wording();
}
