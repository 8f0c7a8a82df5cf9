using System.Collections.Concurrent;
using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Checks;
using Bpi.Orchestration.Security.Compliance;
using Bpi.Orchestration.Security.Runtime;
using Bpi.Orchestration.Security.Telemetry;
using Bpi.Orchestration.State;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Security.Monitoring;

/// <summary>The <see cref="ISecurityMonitor"/>: a hosted service whose loop ticks on the <see cref="TimeProvider"/>.</summary>
internal sealed class SecurityMonitor : ISecurityMonitor, IHostedService, IAsyncDisposable, IDisposable
{
    /// <summary>The audit action of a re-assessment.</summary>
    public const string AuditAction = "security.assessment";

    private readonly SecurityAssessor _assessor;
    private readonly IDeploymentStore _store;
    private readonly IContainerInspector? _inspector;
    private readonly IAuditSink? _audit;
    private readonly SecurityEventHub _events;
    private readonly SecurityTelemetry _telemetry;
    private readonly ComplianceCatalog? _compliance;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, SecurityAssessment> _latest = new(StringComparer.Ordinal);
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    public SecurityMonitor(
        SecurityAssessor assessor,
        IDeploymentStore store,
        SecurityEventHub events,
        SecurityTelemetry telemetry,
        TimeProvider time,
        IContainerInspector? inspector = null,
        IAuditSink? audit = null,
        ComplianceCatalog? compliance = null,
        ILogger? logger = null)
    {
        _assessor = assessor;
        _store = store;
        _events = events;
        _telemetry = telemetry;
        _time = time;
        _inspector = inspector;
        _audit = audit;
        _compliance = compliance;
        _logger = logger ?? NullLogger.Instance;
    }

    public IAsyncEnumerable<SecurityEvent> WatchAsync(CancellationToken cancellationToken = default) => _events.WatchAsync(cancellationToken);

    public SecurityAssessment? GetLatest(string deploymentId) => _latest.TryGetValue(deploymentId, out var a) ? a : null;

    public async ValueTask<SecurityAssessment> AssessDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        var record = await _store.GetAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        if (record is null || !record.State.IsLive())
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"No live deployment has the id '{deploymentId}'; list deployments to find its id.");
        }

        return await AssessAsync(record, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<SecurityAssessment>> ReassessAllAsync(CancellationToken cancellationToken = default)
    {
        var records = await _store.ListAsync(cancellationToken).ConfigureAwait(false);
        var assessments = new List<SecurityAssessment>();
        foreach (var record in records.Where(r => r.State is DeploymentState.Running or DeploymentState.Paused or DeploymentState.Deploying or DeploymentState.Failed or DeploymentState.RolledBack).OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            try
            {
                assessments.Add(await AssessAsync(record, cancellationToken).ConfigureAwait(false));
            }
            catch (OrchestrationException ex)
            {
                Log.ReassessmentFailed(_logger, record.Id, ex);
            }
        }

        return assessments;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var interval = _assessor.Options.ReassessmentInterval;
        if (interval == Timeout.InfiniteTimeSpan || _loop is not null)
        {
            return Task.CompletedTask;
        }

        _stopping = new CancellationTokenSource();
        _loop = RunAsync(interval, _stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null || _loop is null)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _loop = null;
    }

    public void Dispose()
    {
        _stopping?.Cancel();
        _stopping?.Dispose();
        _stopping = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping?.Dispose();
        _stopping = null;
    }

    private async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await ReassessAllAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task<SecurityAssessment> AssessAsync(DeploymentRecord record, CancellationToken cancellationToken)
    {
        var spec = record.CurrentSpec;
        SecurityAssessment assessment;
        if (_inspector is not null)
        {
            var containers = await _inspector.InspectDeploymentAsync(record.Id, cancellationToken).ConfigureAwait(false);
            var components = spec.Components.ToDictionary(c => c.Id, StringComparer.Ordinal);
            containers = [.. containers.Select(c => c.ServesHttp is null && components.TryGetValue(c.ComponentId, out var component)
                ? c with { ServesHttp = ContainerProfiles.FromSpec(component, _assessor.Options.DockLock).ServesHttp }
                : c)];
            assessment = await _assessor.AssessContainersAsync(spec.Name, record.Id, spec, containers, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            assessment = (await _assessor.AssessAsync(spec, cancellationToken).ConfigureAwait(false)) with { DeploymentId = record.Id };
        }

        var previous = _latest.TryGetValue(record.Id, out var p) ? p : null;
        _latest[record.Id] = assessment;
        _telemetry.RecordAssessment(assessment, _compliance);
        Log.Reassessed(_logger, record.Id, assessment.Source.ToString(), assessment.Score, assessment.Findings.Count);
        var now = assessment.AssessedAt;
        _events.Publish(new SecurityEvent(SecurityEventKind.Assessed, now, spec.Name, record.Id, assessment.Score, null,
            string.Create(CultureInfo.InvariantCulture, $"assessed from the {(assessment.Source == ProfileSource.Spec ? "spec" : "running containers")}: score {Math.Floor(assessment.Score * 10) / 10:0.0}, {assessment.Findings.Count} finding(s)")));

        var before = previous?.Findings.ToDictionary(f => f.CheckId, StringComparer.Ordinal) ?? [];
        foreach (var finding in assessment.Findings.Where(f => !before.ContainsKey(f.CheckId)))
        {
            Log.FindingDetected(_logger, record.Id, finding.ToString());
            _events.Publish(new SecurityEvent(SecurityEventKind.FindingDetected, now, spec.Name, record.Id, assessment.Score, finding, "new finding: " + finding));
        }

        if (previous is not null)
        {
            var after = assessment.Findings.Select(f => f.CheckId).ToHashSet(StringComparer.Ordinal);
            foreach (var finding in previous.Findings.Where(f => !after.Contains(f.CheckId)))
            {
                Log.FindingResolved(_logger, record.Id, finding.CheckId);
                _events.Publish(new SecurityEvent(SecurityEventKind.FindingResolved, now, spec.Name, record.Id, assessment.Score, finding, $"resolved: {finding.CheckId} {finding.Title}"));
            }
        }

        if (_audit is not null)
        {
            await _audit.AppendAsync(
                new AuditEvent(now, OrchestrationActor.System.Id, AuditAction, record.Id, assessment.Findings.Count == 0 ? "passed" : "findings", new Dictionary<string, string?>(StringComparer.Ordinal)
                {
                    ["source"] = assessment.Source == ProfileSource.Spec ? "spec" : "runtime",
                    ["environment"] = assessment.Environment,
                    ["score"] = assessment.Score.ToString("0.00", CultureInfo.InvariantCulture),
                    ["findings"] = string.Join(",", assessment.Findings.Select(f => f.CheckId)),
                    ["catalog"] = assessment.CatalogVersion,
                }),
                cancellationToken).ConfigureAwait(false);
        }

        return assessment;
    }
}
