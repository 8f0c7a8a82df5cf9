using System.Globalization;

namespace Bpi.Orchestration.Strategies.Analysis;

/// <summary>How an analysis run (or one metric of it) ended, as Argo Rollouts' AnalysisRun phases.</summary>
public enum AnalysisPhase
{
    /// <summary>Every metric passed; the rollout continues.</summary>
    Successful = 0,

    /// <summary>A metric failed more often than its failure limit allows, or the judge scored below the marginal score; the rollout is rolled back.</summary>
    Failed,

    /// <summary>The measurements neither passed nor failed clearly; the rollout pauses for a person (resume continues, abort rolls back).</summary>
    Inconclusive,

    /// <summary>Measurements kept failing to be taken (more consecutive errors than allowed); the rollout is rolled back.</summary>
    Error,
}

/// <summary>The result of one metric over a run.</summary>
/// <param name="Name">The metric.</param>
/// <param name="Phase">How it ended.</param>
/// <param name="Values">Every measured value, in order.</param>
/// <param name="Successful">Successful measurements.</param>
/// <param name="Failed">Failed measurements.</param>
/// <param name="Inconclusive">Inconclusive measurements.</param>
/// <param name="Errors">Measurements that could not be taken.</param>
/// <param name="LastError">The last error, if any.</param>
public sealed record MetricRunResult(string Name, AnalysisPhase Phase, IReadOnlyList<double> Values, int Successful, int Failed, int Inconclusive, int Errors, string? LastError)
{
    /// <inheritdoc />
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Name} {Phase} (values {string.Join(", ", Values.Select(v => v.ToString("0.###", CultureInfo.InvariantCulture)))}; {Successful} ok, {Failed} failed, {Inconclusive} inconclusive, {Errors} errors")
           + (LastError is null ? ")" : $"; last error: {LastError})");
}

/// <summary>The result of an analysis run.</summary>
/// <param name="Name">The analysis.</param>
/// <param name="Phase">How it ended: the worst of its metrics and judge (Failed, then Error, then Inconclusive).</param>
/// <param name="Metrics">Each metric's result.</param>
/// <param name="Judge">The judge's verdict, if the analysis has a judge.</param>
public sealed record AnalysisRunResult(string Name, AnalysisPhase Phase, IReadOnlyList<MetricRunResult> Metrics, JudgeResult? Judge)
{
    /// <summary>A one-paragraph summary for events, audit and failure messages.</summary>
    public string Summary => string.Join("; ", Metrics.Select(m => m.ToString()).Concat(Judge is null ? [] : [Judge.ToString()]));

    internal static AnalysisPhase Worst(IEnumerable<AnalysisPhase> phases)
    {
        var list = phases.ToList();
        return list.Contains(AnalysisPhase.Failed) ? AnalysisPhase.Failed
            : list.Contains(AnalysisPhase.Error) ? AnalysisPhase.Error
            : list.Contains(AnalysisPhase.Inconclusive) ? AnalysisPhase.Inconclusive
            : AnalysisPhase.Successful;
    }
}
