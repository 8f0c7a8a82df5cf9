using System.Text.RegularExpressions;

namespace Bpi.Orchestration.Configuration;

/// <summary>
/// Joins the document's field problems with the spec's own checks, which run on whatever could be mapped: a spec
/// problem at (or inside) a field the document already reported is the same problem seen again, and is dropped.
/// </summary>
internal static partial class ProblemList
{
    // The spec's checks name a component with its id (`components[0] (web).replicas`) and a strategy's fields after
    // the strategy (`strategy (canary): steps[0].weight`); the document names them by place (`components[0].replicas`).
    [GeneratedRegex(@"^components\[(?<index>\d+)\] \([^)]*\)", RegexOptions.CultureInvariant)]
    private static partial Regex ComponentWithId();

    [GeneratedRegex(@"^strategy \([^)]*\): ", RegexOptions.CultureInvariant)]
    private static partial Regex StrategyPrefix();

    public static void AddSpecProblems(List<string> errors, IReadOnlyList<string> specProblems)
    {
        // Sets, not scans: a hostile document can carry thousands of problems on each side, and comparing every spec
        // problem with every field problem made one such document take tens of seconds (found by the parser fuzz suite).
        var fieldPaths = new HashSet<string>(errors.Select(PathOf).Where(p => p.Length > 0), StringComparer.Ordinal);
        var listed = new HashSet<string>(errors, StringComparer.Ordinal);
        foreach (var problem in specProblems)
        {
            if (!IsAtOrInsideAny(PathOf(Normalize(problem)), fieldPaths) && listed.Add(problem))
            {
                errors.Add(problem);
            }
        }
    }

    /// <summary>Whether <paramref name="path"/> or one of its parents (cut at a <c>.</c> or <c>[</c>) is a reported field.</summary>
    private static bool IsAtOrInsideAny(string path, HashSet<string> reported)
    {
        if (path.Length == 0)
        {
            return false;
        }

        if (reported.Contains(path))
        {
            return true;
        }

        for (var i = path.Length - 1; i > 0; i--)
        {
            if (path[i] is '.' or '[' && reported.Contains(path[..i]))
            {
                return true;
            }
        }

        return false;
    }

    private static string Normalize(string problem)
    {
        problem = ComponentWithId().Replace(problem, m => $"components[{m.Groups["index"].Value}]");
        return StrategyPrefix().Replace(problem, "strategy.");
    }

    private static string PathOf(string problem)
    {
        var colon = problem.IndexOf(": ", StringComparison.Ordinal);
        return colon < 0 ? problem : problem[..colon];
    }
}
