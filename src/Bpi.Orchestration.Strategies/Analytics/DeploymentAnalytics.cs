using System.Diagnostics;
using System.Diagnostics.Metrics;
using Bpi.Orchestration.Strategies.Telemetry;
using Bpi.Orchestration.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Strategies.Analytics;

/// <summary>Builds rollout reports from the VM's event stream (subscribed in the constructor, so nothing after it is missed).</summary>
internal sealed class DeploymentAnalytics : IDeploymentAnalytics, IAsyncDisposable
{
    public const string DeploymentFrequency = "bpi.orchestration.dora.deployment_frequency";
    public const string LeadTime = "bpi.orchestration.dora.lead_time";
    public const string ChangeFailureRate = "bpi.orchestration.dora.change_failure_rate";
    public const string TimeToRestore = "bpi.orchestration.dora.time_to_restore";
    public const string RolloutActiveTime = "bpi.orchestration.rollout.active_time";
    public const string RolloutPausedTime = "bpi.orchestration.rollout.paused_time";

    private readonly IOrchestrationVm _vm;
    private readonly TimeProvider _time;
    private readonly AnalyticsOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<Tracker>> _rollouts = new(StringComparer.Ordinal);
    private readonly List<(string DeploymentId, int Count, TaskCompletionSource Done)> _waiters = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private readonly Meter _meter;
    private readonly Histogram<double> _activeTime;
    private readonly Histogram<double> _pausedTime;

    public DeploymentAnalytics(IOrchestrationVm vm, IOptions<AnalyticsOptions> options, TimeProvider? time = null, IMeterFactory? meterFactory = null, ILoggerFactory? loggerFactory = null)
    {
        _vm = vm;
        _time = time ?? TimeProvider.System;
        _options = options.Value;
        _logger = (ILogger?)loggerFactory?.CreateLogger("Bpi.Orchestration.Strategies.Analytics") ?? NullLogger.Instance;
        _meter = meterFactory?.Create(OrchestrationTelemetryNames.Name) ?? new Meter(OrchestrationTelemetryNames.Name);
        _activeTime = _meter.CreateHistogram<double>(RolloutActiveTime, "s", "The active (not paused) time of a rollout, by outcome.");
        _pausedTime = _meter.CreateHistogram<double>(RolloutPausedTime, "s", "The paused time of a rollout, by outcome.");
        _meter.CreateObservableGauge(DeploymentFrequency, () => Gauges(d => d.DeploymentsPerDay), "{deployment}/d", "Promoted rollouts per day over the analytics window, by app and environment.");
        _meter.CreateObservableGauge(ChangeFailureRate, () => Gauges(d => d.ChangeFailureRate), "1", "The share of rollouts that failed, by app and environment.");
        _meter.CreateObservableGauge(LeadTime, () => Gauges(d => d.LeadTime?.TotalSeconds ?? double.NaN), "s", "The median time from request to serving, by app and environment.");
        _meter.CreateObservableGauge(TimeToRestore, () => Gauges(d => d.TimeToRestore?.TotalSeconds ?? double.NaN), "s", "The median time from a failed rollout to the next promoted one, by app and environment.");
        var events = vm.WatchAsync(null, _stop.Token);
        _reader = Task.Run(() => ReadAsync(events), CancellationToken.None);
    }

    public IReadOnlyList<RolloutReport> GetRollouts(string deploymentId)
    {
        lock (_gate)
        {
            return _rollouts.TryGetValue(deploymentId, out var list) ? [.. list.Select(t => t.Report(_time.GetUtcNow()))] : [];
        }
    }

    public DoraReport GetDora(string appId, string environment, TimeSpan? window = null)
    {
        var span = window ?? _options.Window;
        var now = _time.GetUtcNow();
        List<RolloutReport> ended;
        lock (_gate)
        {
            ended = [.. _rollouts.Values.SelectMany(l => l)
                .Where(t => t.AppId == appId && t.Environment == environment && !t.IsScale && t.EndedAt is { } end && end >= now - span)
                .Select(t => t.Report(now))
                .OrderBy(r => r.EndedAt)];
        }

        return Dora(appId, environment, span, ended);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _reader.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _meter.Dispose();
    }

    /// <summary>Completes once <paramref name="count"/> rollouts of a deployment have ended (for tests).</summary>
    internal Task WaitForEndedAsync(string deploymentId, int count, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (Ended(deploymentId) >= count)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((deploymentId, count, done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    internal static DoraReport Dora(string appId, string environment, TimeSpan window, IReadOnlyList<RolloutReport> ended)
    {
        var promoted = ended.Where(r => r.Outcome == RolloutOutcome.Promoted).ToList();
        var failures = ended.Where(r => r.Outcome != RolloutOutcome.Promoted).ToList();
        var restores = new List<TimeSpan>();
        foreach (var failure in failures)
        {
            if (promoted.FirstOrDefault(p => p.EndedAt > failure.EndedAt) is { } fix)
            {
                restores.Add(fix.EndedAt!.Value - failure.EndedAt!.Value);
            }
        }

        return new DoraReport(
            appId,
            environment,
            window,
            ended.Count,
            ended.Count == 0 ? double.NaN : (double)promoted.Count / ended.Count,
            promoted.Count / Math.Max(window.TotalDays, 1e-9),
            Median(promoted.Select(p => p.EndedAt!.Value - p.RequestedAt).ToList()),
            ended.Count == 0 ? double.NaN : (double)failures.Count / ended.Count,
            Median(restores));
    }

    private static TimeSpan? Median(List<TimeSpan> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        values.Sort();
        var mid = values.Count / 2;
        return values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    /// <summary>The revision a queued event names ("queued (update to revision 3)"); 1 for a new deployment.</summary>
    private static int? RevisionOf(DeploymentEvent e)
    {
        var at = e.Message.LastIndexOf("revision ", StringComparison.Ordinal);
        if (at >= 0)
        {
            var digits = new string([.. e.Message[(at + 9)..].TakeWhile(char.IsAsciiDigit)]);
            if (int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
            {
                return number;
            }
        }

        return e.PreviousState == DeploymentState.Pending ? 1 : null;
    }

    private int Ended(string deploymentId) => _rollouts.TryGetValue(deploymentId, out var list) ? list.Count(t => t.Outcome is not null) : 0;

    private IEnumerable<Measurement<double>> Gauges(Func<DoraReport, double> pick)
    {
        List<(string App, string Environment)> keys;
        lock (_gate)
        {
            keys = [.. _rollouts.Values.SelectMany(l => l).Select(t => (t.AppId, t.Environment)).Distinct()];
        }

        foreach (var (app, environment) in keys)
        {
            var value = pick(GetDora(app, environment));
            if (!double.IsNaN(value))
            {
                yield return new Measurement<double>(value, new KeyValuePair<string, object?>("app.id", app), new KeyValuePair<string, object?>("deployment.environment", environment));
            }
        }
    }

    private async Task ReadAsync(IAsyncEnumerable<DeploymentEvent> events)
    {
        try
        {
            await foreach (var e in events.ConfigureAwait(false))
            {
                await OnEventAsync(e).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.AnalyticsStopped(_logger, ex);
        }
    }

    private async Task OnEventAsync(DeploymentEvent e)
    {
        if (e.Kind == DeploymentEventKind.StateChanged && e.State == DeploymentState.Queued)
        {
            DeploymentStatus? status = null;
            try
            {
                status = await _vm.GetStatusAsync(e.DeploymentId).ConfigureAwait(false);
            }
            catch (OrchestrationException)
            {
                // Deleted or not visible: the rollout is tracked without its app and environment.
            }

            lock (_gate)
            {
                if (!_rollouts.TryGetValue(e.DeploymentId, out var list))
                {
                    list = [];
                    _rollouts[e.DeploymentId] = list;
                }

                list.Add(new Tracker(e.DeploymentId, status?.AppId ?? "", status?.Environment ?? "", e.Timestamp)
                {
                    Revision = RevisionOf(e) ?? status?.TargetRevision ?? status?.StableRevision,
                    Strategy = status?.Strategy,
                    IsScale = e.Message.Contains("(scale)", StringComparison.Ordinal),
                });
            }

            return;
        }

        Tracker? ended = null;
        lock (_gate)
        {
            if (!_rollouts.TryGetValue(e.DeploymentId, out var list) || list.Count == 0 || list[^1].Outcome is not null)
            {
                return;
            }

            var tracker = list[^1];
            switch (e.Kind)
            {
                case DeploymentEventKind.StepCompleted:
                    tracker.Steps++;
                    break;
                case DeploymentEventKind.Intervention when e.Message.StartsWith("aborted by", StringComparison.Ordinal):
                    tracker.Aborted = true;
                    break;
                case DeploymentEventKind.StateChanged:
                    // The abort's own event may come after the rollback it caused; the rollback says why it started.
                    tracker.Aborted |= e.State == DeploymentState.RollingBack && e.Message.Contains("was aborted by", StringComparison.Ordinal);
                    ended = tracker.OnState(e.State, e.Timestamp) ? tracker : null;
                    break;
            }

            if (ended is not null)
            {
                var count = Ended(e.DeploymentId);
                foreach (var waiter in _waiters.Where(w => w.DeploymentId == e.DeploymentId && w.Count <= count).ToList())
                {
                    waiter.Done.TrySetResult();
                    _waiters.Remove(waiter);
                }
            }
        }

        if (ended is not null)
        {
            var report = ended.Report(e.Timestamp);
            var tags = new TagList { { "outcome", report.Outcome.ToString()!.ToLowerInvariant() }, { "strategy.name", report.Strategy } };
            _activeTime.Record(report.ActiveTime.TotalSeconds, tags);
            _pausedTime.Record(report.PausedTime.TotalSeconds, tags);
        }
    }

    private sealed class Tracker(string deploymentId, string appId, string environment, DateTimeOffset requestedAt)
    {
        private DateTimeOffset? _pausedSince;
        private TimeSpan _paused;

        public string AppId { get; } = appId;

        public string Environment { get; } = environment;

        public int? Revision { get; init; }

        public string? Strategy { get; init; }

        public bool IsScale { get; init; }

        public int Steps { get; set; }

        public bool Aborted { get; set; }

        public DateTimeOffset? StartedAt { get; private set; }

        public DateTimeOffset? EndedAt { get; private set; }

        public RolloutOutcome? Outcome { get; private set; }

        public int RollbackCount { get; private set; }

        /// <summary>Applies a state change; returns whether the rollout ended.</summary>
        public bool OnState(DeploymentState state, DateTimeOffset at)
        {
            if (_pausedSince is { } since && state != DeploymentState.Paused)
            {
                _paused += at - since;
                _pausedSince = null;
            }

            switch (state)
            {
                case DeploymentState.Deploying:
                    StartedAt ??= at;
                    return false;
                case DeploymentState.Paused:
                    StartedAt ??= at;
                    _pausedSince = at;
                    return false;
                case DeploymentState.RollingBack:
                    RollbackCount = 1;
                    return false;
                case DeploymentState.Running:
                    return End(at, RolloutOutcome.Promoted);
                case DeploymentState.RolledBack:
                    return End(at, Aborted ? RolloutOutcome.Aborted : RolloutOutcome.RolledBack);
                case DeploymentState.Failed:
                    return End(at, Aborted ? RolloutOutcome.Aborted : RolloutOutcome.Failed);
                case DeploymentState.Destroyed:
                    return End(at, RolloutOutcome.Aborted);
                default:
                    return false;
            }
        }

        public RolloutReport Report(DateTimeOffset now)
        {
            var start = StartedAt ?? requestedAt;
            var end = EndedAt ?? now;
            var paused = _paused + (_pausedSince is { } since ? end - since : TimeSpan.Zero);
            var duration = end - start;
            return new RolloutReport
            {
                DeploymentId = deploymentId,
                AppId = AppId,
                Environment = Environment,
                Revision = Revision,
                Strategy = Strategy,
                IsScale = IsScale,
                RequestedAt = requestedAt,
                StartedAt = StartedAt,
                EndedAt = EndedAt,
                Duration = duration,
                PausedTime = paused,
                ActiveTime = duration - paused,
                Steps = Steps,
                Outcome = Outcome,
                RollbackCount = RollbackCount,
            };
        }

        private bool End(DateTimeOffset at, RolloutOutcome outcome)
        {
            EndedAt = at;
            Outcome = outcome;
            return true;
        }
    }
}
