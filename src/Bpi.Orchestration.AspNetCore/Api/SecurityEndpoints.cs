using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Compliance;
using Bpi.Orchestration.Security.Gate;
using Bpi.Orchestration.Security.Monitoring;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// <c>/security/…</c> of the seed's API over the Security package: scan a deployment document or a deployment, read an
/// assessment, and a compliance report. Without the Security package registered these answer 501.
/// </summary>
internal static class SecurityEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var security = api.MapGroup("/security").WithTags("security");

        security.MapPost("/scan", async (HttpContext http, IOrchestrationVm vm, IOptions<OrchestrationApiOptions> options) =>
        {
            var assessor = Require<SecurityAssessor>(http);
            var body = await RequestBody.ReadAsync(http, options.Value).ConfigureAwait(false);
            SecurityGateDecision decision;
            DeploymentSpec? scanned = null;
            if (body is JsonObject { Count: 1 } only && only.ContainsKey("deployment_id"))
            {
                var fields = new BodyFields(body);
                var id = fields.String("deployment_id", required: true, maxLength: 256)!;
                fields.EnsureValid();
                decision = await AssessDeploymentAsync(http, vm, assessor, id).ConfigureAwait(false);
            }
            else
            {
                var spec = scanned = SpecReader.Read(body, "request body");
                await vm.AuthorizeAsync([OrchestrationVerbs.Read], spec, http.RequestAborted).ConfigureAwait(false);
                var assessment = await assessor.AssessAsync(spec, http.RequestAborted).ConfigureAwait(false);
                decision = SecurityGate.Judge(assessment, assessor.Options.GetPolicy(spec.Environment));
            }

            var view = ScanView.From(decision, Scans(http).Remember(decision, scanned));
            return ApiJson.Json(view);
        })
        .WithName("SecurityScan")
        .WithSummary("Assesses a deployment document (the deploy body) or {\"deployment_id\": …}: findings, 0–10 score and the gate's verdict for its environment.")
        .Accepts<object>("application/json")
        .Produces<ScanView>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound);

        security.MapGet("/assessment/{id}", async (string id, HttpContext http, IOrchestrationVm vm) =>
        {
            var assessor = Require<SecurityAssessor>(http);
            if (Scans(http).Find(id) is { } remembered)
            {
                // A scan of a document: its id was handed out by POST /security/scan to the caller.
                await vm.AuthorizeAsync([OrchestrationVerbs.Read], remembered.Spec, http.RequestAborted).ConfigureAwait(false);
                return ApiJson.Json(ScanView.From(remembered.Decision, id));
            }

            return ApiJson.Json(ScanView.From(await AssessDeploymentAsync(http, vm, assessor, id).ConfigureAwait(false), id));
        })
        .WithName("GetSecurityAssessment")
        .WithSummary("The security assessment of a deployment (its latest, or a fresh one), or of an earlier scan by the assessment_id it returned.")
        .Produces<ScanView>()
        .ProducesProblem(StatusCodes.Status404NotFound);

        security.MapGet("/compliance/{framework}", async (string framework, string? deployment_id, string? format, HttpContext http, IOrchestrationVm vm) =>
        {
            var assessor = Require<SecurityAssessor>(http);
            var catalog = http.RequestServices.GetService<ComplianceCatalog>() ?? assessor.Options.BuildComplianceCatalog();
            var problems = new List<string>();
            var chosen = catalog.Frameworks.FirstOrDefault(f => string.Equals(f.Id, framework, StringComparison.OrdinalIgnoreCase));
            if (chosen is null)
            {
                problems.Add($"framework: '{framework}' is not a framework; known: {string.Join(", ", catalog.Frameworks.Select(f => f.Id))}.");
            }

            if (string.IsNullOrEmpty(deployment_id))
            {
                problems.Add("deployment_id: required (query string).");
            }

            format ??= "json";
            if (format is not ("json" or "markdown" or "html"))
            {
                problems.Add($"format: '{format}' is not json, markdown or html.");
            }

            if (problems.Count > 0)
            {
                throw new ApiProblemException(StatusCodes.Status400BadRequest, "The query is invalid.", problems);
            }

            var decision = await AssessDeploymentAsync(http, vm, assessor, deployment_id!).ConfigureAwait(false);
            var report = ComplianceReporter.Create(decision.Assessment, chosen!, catalog);
            return format switch
            {
                "markdown" => Results.Text(ComplianceReporter.ToMarkdown(report), "text/markdown; charset=utf-8"),
                "html" => Results.Text(ComplianceReporter.ToHtml(report), "text/html; charset=utf-8"),
                _ => Results.Text(ComplianceReporter.ToJson(report), "application/json; charset=utf-8"),
            };
        })
        .WithName("GetComplianceReport")
        .WithSummary("Compliance evidence of a deployment for one framework (json, markdown or html): controls, the checks behind them, passed / failed / not assessed.")
        .Produces<string>(StatusCodes.Status200OK, "application/json", "text/markdown", "text/html")
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>Reads the deployment as the caller (authorized <c>read</c>), then assesses it through the monitor and judges it under its environment's policy.</summary>
    private static async Task<SecurityGateDecision> AssessDeploymentAsync(HttpContext http, IOrchestrationVm vm, SecurityAssessor assessor, string id)
    {
        var status = await vm.GetStatusAsync(id, http.RequestAborted).ConfigureAwait(false);
        var monitor = Require<ISecurityMonitor>(http);
        var assessment = await monitor.AssessDeploymentAsync(id, http.RequestAborted).ConfigureAwait(false);
        return SecurityGate.Judge(assessment, assessor.Options.GetPolicy(status.Environment));
    }

    private static T Require<T>(HttpContext http)
        where T : class
        => http.RequestServices.GetService<T>() ?? throw new ApiProblemException(
            StatusCodes.Status501NotImplemented,
            "Security is not enabled on this orchestrator.",
            ["security: the Security package is not registered; the host adds it with AddSecurity() on the orchestration builder."],
            OrchestrationErrorKind.NotFound);

    private static ScanMemory Scans(HttpContext http) => http.RequestServices.GetRequiredService<ScanMemory>();
}

/// <summary>The last scans of documents, by assessment id, so <c>GET /security/assessment/{id}</c> finds them (at most 256, oldest forgotten first).</summary>
internal sealed class ScanMemory
{
    private const int Capacity = 256;
    private readonly ConcurrentDictionary<string, (DeploymentSpec Spec, SecurityGateDecision Decision)> _scans = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    public string Remember(SecurityGateDecision decision, DeploymentSpec? spec)
    {
        if (spec is null && decision.Assessment.DeploymentId is { } deploymentId)
        {
            return deploymentId;
        }

        ArgumentNullException.ThrowIfNull(spec);
        var id = "scan-" + Guid.NewGuid().ToString("N")[..16];
        _scans[id] = (spec, decision);
        _order.Enqueue(id);
        while (_order.Count > Capacity && _order.TryDequeue(out var old))
        {
            _scans.TryRemove(old, out _);
        }

        return id;
    }

    public (DeploymentSpec Spec, SecurityGateDecision Decision)? Find(string id)
        => _scans.TryGetValue(id, out var scan) ? scan : null;
}

/// <summary>A security assessment and the gate's verdict, as the API answers it.</summary>
internal sealed record ScanView(
    string AssessmentId,
    string Target,
    string? DeploymentId,
    string Environment,
    string Source,
    DateTimeOffset AssessedAt,
    double Score,
    string Grade,
    bool GatePassed,
    IReadOnlyList<string> GateReasons,
    int ChecksPassed,
    int ChecksFailed,
    IReadOnlyList<FindingView> Findings)
{
    public static ScanView From(SecurityGateDecision decision, string id)
    {
        var a = decision.Assessment;
        return new ScanView(
            id,
            a.Target,
            a.DeploymentId,
            a.Environment,
            System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(a.Source.ToString()),
            a.AssessedAt,
            Math.Round(a.Score, 2),
            a.Grade.ToString(),
            decision.Passed,
            decision.Reasons,
            a.PassedCount,
            a.FailedCount,
            [.. a.Findings.Select(f => new FindingView(f.CheckId, f.Title, System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(f.Severity.ToString()), f.Subjects, f.Evidence, f.Remediation))]);
    }
}

/// <summary>One finding.</summary>
internal sealed record FindingView(string CheckId, string Title, string Severity, IReadOnlyList<string> Subjects, string Evidence, string Remediation);
