namespace Bpi.Orchestration.Strategies;

/// <summary>The strategies' check of <see cref="DeploymentSpec.MaxDuration"/>, with the same wording as Core's validator.</summary>
internal static class DurationLimit
{
    /// <summary>The problem for a duration above the limit, or <see langword="null"/> when it is within it.</summary>
    public static string? Check(string field, TimeSpan? value)
        => value > DeploymentSpec.MaxDuration ? DeploymentSpec.DescribeTooLong(field, value.Value) : null;

    /// <summary>The problems of several durations, in order.</summary>
    public static IEnumerable<string> Check(params (string Field, TimeSpan? Value)[] durations)
    {
        foreach (var (field, value) in durations)
        {
            if (Check(field, value) is { } problem)
            {
                yield return problem;
            }
        }
    }
}
