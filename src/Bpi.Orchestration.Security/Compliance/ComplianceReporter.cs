using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Checks;

namespace Bpi.Orchestration.Security.Compliance;

/// <summary>Builds compliance reports from assessments and writes them as JSON, Markdown or HTML.</summary>
public static class ComplianceReporter
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        Encoder = JavaScriptEncoder.Default,
        TypeInfoResolver = ComplianceReportJsonContext.Default,
    };

    /// <summary>Builds the report of one framework from an assessment.</summary>
    /// <param name="assessment">The assessment.</param>
    /// <param name="framework">The framework.</param>
    /// <param name="catalog">The catalogue the framework comes from (for its version and disclaimer); <see langword="null"/> for <see cref="ComplianceCatalog.BuiltIn"/>.</param>
    /// <returns>The report.</returns>
    public static ComplianceReport Create(SecurityAssessment assessment, ComplianceFramework framework, ComplianceCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(assessment);
        ArgumentNullException.ThrowIfNull(framework);
        catalog ??= ComplianceCatalog.BuiltIn;
        var results = assessment.Results.ToDictionary(r => r.Check.Id, StringComparer.Ordinal);
        var findings = assessment.Findings.ToDictionary(f => f.CheckId, StringComparer.Ordinal);
        var controls = framework.Controls.Select(control =>
        {
            var checks = control.Checks
                .Select(id => results.TryGetValue(id, out var r)
                    ? new CheckEvidence(id, r.Check.Title, r.Check.Severity, r.Outcome, string.Join("; ", r.Observations.Where(o => o.Outcome == r.Outcome).Select(o => o.Subject + ": " + o.Evidence)))
                    : new CheckEvidence(id, SecurityCheckCatalog.Contains(id) ? SecurityCheckCatalog.Get(id).Title : id, SecurityCheckCatalog.Contains(id) ? SecurityCheckCatalog.Get(id).Severity : SecuritySeverity.Low, CheckOutcome.NotApplicable, "not run"))
                .ToList();
            var status = checks.Any(c => c.Outcome == CheckOutcome.Failed) ? ControlEvidenceStatus.EvidenceFailed
                : checks.Any(c => c.Outcome == CheckOutcome.Passed) ? ControlEvidenceStatus.EvidencePassed
                : ControlEvidenceStatus.NotAssessed;
            var behind = checks.Where(c => c.Outcome == CheckOutcome.Failed && findings.ContainsKey(c.CheckId)).Select(c => findings[c.CheckId]).ToList();
            return new ControlEvidence(control.Id, control.Title, status, control.Interpretation, checks, behind);
        }).ToList();

        return new ComplianceReport
        {
            FrameworkId = framework.Id,
            FrameworkTitle = framework.Title,
            FrameworkVersion = framework.Version,
            MappingVersion = catalog.Version,
            Disclaimer = catalog.Disclaimer,
            Target = assessment.Target,
            DeploymentId = assessment.DeploymentId,
            Environment = assessment.Environment,
            Source = assessment.Source,
            AssessedAt = assessment.AssessedAt,
            Score = assessment.Score,
            Controls = controls,
        };
    }

    /// <summary>Writes a report as indented JSON (camelCase, enums as strings).</summary>
    /// <param name="report">The report.</param>
    /// <returns>The JSON text.</returns>
    public static string ToJson(ComplianceReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return JsonSerializer.Serialize(report, JsonOptions);
    }

    /// <summary>Writes a report as Markdown. Text from specs and mappings is escaped so it cannot change the document's structure.</summary>
    /// <param name="report">The report.</param>
    /// <returns>The Markdown text.</returns>
    public static string ToMarkdown(ComplianceReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Compliance evidence: {Md(report.FrameworkTitle)} {Md(report.FrameworkVersion)}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"> {Md(report.Disclaimer)}\n\n");
        md.Append("| | |\n|---|---|\n");
        md.Append(CultureInfo.InvariantCulture, $"| Deployment | {Md(report.Target)}{(report.DeploymentId is null ? "" : " (" + Md(report.DeploymentId) + ")")} |\n");
        md.Append(CultureInfo.InvariantCulture, $"| Environment | {Md(report.Environment)} |\n");
        md.Append(CultureInfo.InvariantCulture, $"| Assessed | {report.AssessedAt:yyyy-MM-dd HH:mm:ss}Z from the {(report.Source == ProfileSource.Spec ? "spec" : "running containers")} |\n");
        md.Append(CultureInfo.InvariantCulture, $"| Security score | {Floor1(report.Score)} / 10 |\n");
        md.Append(CultureInfo.InvariantCulture, $"| Controls | {report.EvidencePassedCount} with passing evidence, {report.EvidenceFailedCount} with failing evidence, {report.NotAssessedCount} not assessed |\n");
        md.Append(CultureInfo.InvariantCulture, $"| Mappings | {Md(report.MappingVersion)}, checks {Md(report.CatalogVersion)} |\n\n");
        foreach (var control in report.Controls)
        {
            md.Append(CultureInfo.InvariantCulture, $"## {Md(control.ControlId)} {Md(control.Title)}: {StatusText(control.Status)}\n\n");
            md.Append(CultureInfo.InvariantCulture, $"{Md(control.Interpretation)}\n\n");
            if (control.Checks.Count > 0)
            {
                md.Append("| Check | Severity | Result | Evidence |\n|---|---|---|---|\n");
                foreach (var check in control.Checks)
                {
                    md.Append(CultureInfo.InvariantCulture, $"| {Md(check.CheckId)} {Md(check.Title)} | {check.Severity} | {OutcomeText(check.Outcome)} | {Md(check.Evidence)} |\n");
                }

                md.Append('\n');
            }

            foreach (var finding in control.Findings)
            {
                md.Append(CultureInfo.InvariantCulture, $"- **Finding {Md(finding.CheckId)}** ({finding.Severity}): {Md(finding.Evidence)}. Remediation: {Md(finding.Remediation)}\n");
            }

            if (control.Findings.Count > 0)
            {
                md.Append('\n');
            }
        }

        return md.ToString();
    }

    /// <summary>Writes a report as a self-contained HTML page. Every text is HTML-encoded.</summary>
    /// <param name="report">The report.</param>
    /// <returns>The HTML text.</returns>
    public static string ToHtml(ComplianceReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Compliance evidence: ")
            .Append(E(report.FrameworkTitle)).Append(" – ").Append(E(report.Target)).Append("</title>\n")
            .Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.evidencepassed{color:#186a3b}.evidencefailed{color:#922b21}.notassessed{color:#7f8c8d}</style></head><body>\n");
        h.Append("<h1>Compliance evidence: ").Append(E(report.FrameworkTitle)).Append(' ').Append(E(report.FrameworkVersion)).Append("</h1>\n");
        h.Append("<p><em>").Append(E(report.Disclaimer)).Append("</em></p>\n<table>\n");
        Row(h, "Deployment", report.Target + (report.DeploymentId is null ? "" : " (" + report.DeploymentId + ")"));
        Row(h, "Environment", report.Environment);
        Row(h, "Assessed", string.Create(CultureInfo.InvariantCulture, $"{report.AssessedAt:yyyy-MM-dd HH:mm:ss}Z from the {(report.Source == ProfileSource.Spec ? "spec" : "running containers")}"));
        Row(h, "Security score", Floor1(report.Score) + " / 10");
        Row(h, "Controls", string.Create(CultureInfo.InvariantCulture, $"{report.EvidencePassedCount} with passing evidence, {report.EvidenceFailedCount} with failing evidence, {report.NotAssessedCount} not assessed"));
        Row(h, "Mappings", report.MappingVersion + ", checks " + report.CatalogVersion);
        h.Append("</table>\n");
        foreach (var control in report.Controls)
        {
            h.Append("<h2>").Append(E(control.ControlId)).Append(' ').Append(E(control.Title)).Append(": <span class=\"")
                .Append(control.Status.ToString().ToLowerInvariant()).Append("\">").Append(E(StatusText(control.Status))).Append("</span></h2>\n");
            h.Append("<p>").Append(E(control.Interpretation)).Append("</p>\n");
            if (control.Checks.Count > 0)
            {
                h.Append("<table><tr><th>Check</th><th>Severity</th><th>Result</th><th>Evidence</th></tr>\n");
                foreach (var check in control.Checks)
                {
                    h.Append("<tr><td>").Append(E(check.CheckId + " " + check.Title)).Append("</td><td>").Append(E(check.Severity.ToString()))
                        .Append("</td><td>").Append(E(OutcomeText(check.Outcome))).Append("</td><td>").Append(E(check.Evidence)).Append("</td></tr>\n");
                }

                h.Append("</table>\n");
            }

            if (control.Findings.Count > 0)
            {
                h.Append("<ul>\n");
                foreach (var finding in control.Findings)
                {
                    h.Append("<li><strong>Finding ").Append(E(finding.CheckId)).Append("</strong> (").Append(E(finding.Severity.ToString())).Append("): ")
                        .Append(E(finding.Evidence)).Append(". Remediation: ").Append(E(finding.Remediation)).Append("</li>\n");
                }

                h.Append("</ul>\n");
            }
        }

        h.Append("</body></html>\n");
        return h.ToString();
    }

    private static void Row(StringBuilder h, string name, string value)
        => h.Append("<tr><th>").Append(E(name)).Append("</th><td>").Append(E(value)).Append("</td></tr>\n");

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>Escapes Markdown so spec-supplied text cannot add structure (tables, links, HTML).</summary>
    private static string Md(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var sb = new StringBuilder(text.Length + 8);
        foreach (var ch in text)
        {
            switch (ch)
            {
                case '\\' or '`' or '*' or '_' or '[' or ']' or '(' or ')' or '#' or '|' or '!' or '{' or '}':
                    sb.Append('\\').Append(ch);
                    break;
                case '<':
                    sb.Append("&lt;");
                    break;
                case '>':
                    sb.Append("&gt;");
                    break;
                case '&':
                    sb.Append("&amp;");
                    break;
                case '\r' or '\n':
                    sb.Append(' ');
                    break;
                default:
                    sb.Append(ch);
                    break;
            }
        }

        return sb.ToString();
    }

    private static string Floor1(double score) => (Math.Floor(score * 10) / 10).ToString("0.0", CultureInfo.InvariantCulture);

    private static string StatusText(ControlEvidenceStatus status) => status switch
    {
        ControlEvidenceStatus.EvidencePassed => "evidence passed",
        ControlEvidenceStatus.EvidenceFailed => "evidence failed",
        _ => "not assessed (manual review)",
    };

    private static string OutcomeText(CheckOutcome outcome) => outcome switch
    {
        CheckOutcome.Passed => "passed",
        CheckOutcome.Failed => "failed",
        _ => "not applicable",
    };
}

[JsonSerializable(typeof(ComplianceReport))]
internal sealed partial class ComplianceReportJsonContext : JsonSerializerContext;
