using System.Diagnostics.Metrics;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Checks;
using Bpi.Orchestration.Security.Compliance;

namespace Bpi.Orchestration.Security.Telemetry;

/// <summary>The names of the Security package's instruments on the <c>Bpi.Orchestration</c> meter.</summary>
public static class SecurityTelemetryNames
{
    /// <summary>Assessments completed, by source (spec, runtime) and environment (counter, {scan}).</summary>
    public const string ScansCompleted = "bpi.orchestration.security.scans.completed";

    /// <summary>Findings reported by assessments, by severity and check id (counter, {finding}).</summary>
    public const string Findings = "bpi.orchestration.security.findings";

    /// <summary>Compliance controls with passing evidence, by framework (counter, {control}).</summary>
    public const string ComplianceChecksPassed = "bpi.orchestration.security.compliance.checks.passed";

    /// <summary>Compliance controls with failing evidence, by framework (counter, {control}).</summary>
    public const string ComplianceChecksFailed = "bpi.orchestration.security.compliance.checks.failed";

    /// <summary>The score of each assessment (histogram, 1).</summary>
    public const string Score = "bpi.orchestration.security.score";

    /// <summary>Security gate decisions, by environment and outcome (counter, {decision}).</summary>
    public const string GateDecisions = "bpi.orchestration.security.gate.decisions";

    /// <summary>Authorization decisions, by verb and outcome (counter, {decision}).</summary>
    public const string AuthorizationDecisions = "bpi.orchestration.security.authorization.decisions";
}

/// <summary>The Security package's instruments.</summary>
internal sealed class SecurityTelemetry : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _scans;
    private readonly Counter<long> _findings;
    private readonly Counter<long> _compliancePassed;
    private readonly Counter<long> _complianceFailed;
    private readonly Histogram<double> _score;
    private readonly Counter<long> _gate;
    private readonly Counter<long> _authorization;

    public SecurityTelemetry(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create("Bpi.Orchestration") ?? new Meter("Bpi.Orchestration");
        _scans = _meter.CreateCounter<long>(SecurityTelemetryNames.ScansCompleted, "{scan}", "Security assessments completed, by source and environment.");
        _findings = _meter.CreateCounter<long>(SecurityTelemetryNames.Findings, "{finding}", "Findings reported by security assessments, by severity and check.");
        _compliancePassed = _meter.CreateCounter<long>(SecurityTelemetryNames.ComplianceChecksPassed, "{control}", "Compliance controls with passing evidence, by framework.");
        _complianceFailed = _meter.CreateCounter<long>(SecurityTelemetryNames.ComplianceChecksFailed, "{control}", "Compliance controls with failing evidence, by framework.");
        _score = _meter.CreateHistogram<double>(SecurityTelemetryNames.Score, "1", "The score of each security assessment, 0-10.");
        _gate = _meter.CreateCounter<long>(SecurityTelemetryNames.GateDecisions, "{decision}", "Security gate decisions, by environment and outcome.");
        _authorization = _meter.CreateCounter<long>(SecurityTelemetryNames.AuthorizationDecisions, "{decision}", "Authorization decisions, by verb and outcome.");
    }

    public void RecordAssessment(SecurityAssessment assessment, ComplianceCatalog? compliance)
    {
        var source = assessment.Source == ProfileSource.Spec ? "spec" : "runtime";
        _scans.Add(1, new KeyValuePair<string, object?>("security.source", source), new KeyValuePair<string, object?>("deployment.environment", assessment.Environment));
        _score.Record(assessment.Score, new KeyValuePair<string, object?>("security.source", source), new KeyValuePair<string, object?>("deployment.environment", assessment.Environment));
        foreach (var finding in assessment.Findings)
        {
            _findings.Add(1, new KeyValuePair<string, object?>("security.severity", finding.Severity.ToString().ToLowerInvariant()), new KeyValuePair<string, object?>("security.check.id", finding.CheckId));
        }

        if (compliance is null)
        {
            return;
        }

        foreach (var framework in compliance.Frameworks)
        {
            var report = ComplianceReporter.Create(assessment, framework, compliance);
            var tag = new KeyValuePair<string, object?>("compliance.framework", framework.Id);
            if (report.EvidencePassedCount > 0)
            {
                _compliancePassed.Add(report.EvidencePassedCount, tag);
            }

            if (report.EvidenceFailedCount > 0)
            {
                _complianceFailed.Add(report.EvidenceFailedCount, tag);
            }
        }
    }

    public void RecordGate(string environment, bool passed)
        => _gate.Add(1, new KeyValuePair<string, object?>("deployment.environment", environment), new KeyValuePair<string, object?>("outcome", passed ? "passed" : "refused"));

    public void RecordAuthorization(string verb, bool allowed)
        => _authorization.Add(1, new KeyValuePair<string, object?>("authorization.verb", verb), new KeyValuePair<string, object?>("outcome", allowed ? "allowed" : "denied"));

    public void Dispose() => _meter.Dispose();
}
