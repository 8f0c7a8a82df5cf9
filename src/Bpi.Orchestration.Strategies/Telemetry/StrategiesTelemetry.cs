using System.Diagnostics;
using System.Diagnostics.Metrics;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Telemetry;

namespace Bpi.Orchestration.Strategies.Telemetry;

/// <summary>The package's instruments on the one <c>Bpi.Orchestration</c> meter.</summary>
internal sealed class StrategiesTelemetry : IDisposable
{
    public const string AnalysisRuns = "bpi.orchestration.analysis.runs";
    public const string AnalysisDuration = "bpi.orchestration.analysis.duration";
    public const string GateDecisions = "bpi.orchestration.approval.decisions";

    private readonly Meter _meter;
    private readonly Counter<long> _analysisRuns;
    private readonly Histogram<double> _analysisDuration;
    private readonly Counter<long> _gateDecisions;

    public StrategiesTelemetry(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(OrchestrationTelemetryNames.Name) ?? new Meter(OrchestrationTelemetryNames.Name);
        _analysisRuns = _meter.CreateCounter<long>(AnalysisRuns, "{run}", "Analysis runs, by phase.");
        _analysisDuration = _meter.CreateHistogram<double>(AnalysisDuration, "s", "How long an analysis run took.");
        _gateDecisions = _meter.CreateCounter<long>(GateDecisions, "{decision}", "Approval gate outcomes, by outcome.");
    }

    public Meter Meter => _meter;

    public void RecordAnalysis(AnalysisPhase phase, TimeSpan duration)
    {
        var tags = new TagList { { "analysis.phase", phase.ToString().ToLowerInvariant() } };
        _analysisRuns.Add(1, tags);
        _analysisDuration.Record(duration.TotalSeconds, tags);
    }

    public void RecordGate(string outcome) => _gateDecisions.Add(1, new TagList { { "outcome", outcome } });

    public void Dispose() => _meter.Dispose();
}
