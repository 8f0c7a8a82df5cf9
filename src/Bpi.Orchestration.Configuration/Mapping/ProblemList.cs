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
        var fieldPaths = errors.Select(PathOf).ToList();
        foreach (var problem in specProblems)
        {
            var path = PathOf(Normalize(problem));
            if (!fieldPaths.Any(reported => IsAtOrInside(path, reported)) && !errors.Contains(problem))
            {
                errors.Add(problem);
            }
        }
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

    private static bool IsAtOrInside(string path, string reported)
        => path.Length > 0 && reported.Length > 0 && path.StartsWith(reported, StringComparison.Ordinal)
           && (path.Length == reported.Length || path[reported.Length] is '.' or '[');
}
