using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Bpi.Orchestration.Telemetry;

/// <summary>The names of the SDK's <see cref="Meter"/>, <see cref="ActivitySource"/> and instruments, for hosts that subscribe to them.</summary>
public static class OrchestrationTelemetryNames
{
    /// <summary>The name of the one <see cref="Meter"/> and the one <see cref="ActivitySource"/>: <c>Bpi.Orchestration</c>.</summary>
    public const string Name = "Bpi.Orchestration";

    /// <summary>Deployments not destroyed (up-down counter, {deployment}).</summary>
    public const string DeploymentsActive = "bpi.orchestration.deployments.active";

    /// <summary>Rollout duration by deployment type and outcome (histogram, s).</summary>
    public const string DeploymentDuration = "bpi.orchestration.deployment.duration";

    /// <summary>Completed rollouts by deployment type and outcome (counter, {rollout}).</summary>
    public const string DeploymentsCompleted = "bpi.orchestration.deployments.completed";

    /// <summary>The share of rollouts that succeeded (gauge, 1).</summary>
    public const string DeploymentSuccessRate = "bpi.orchestration.deployment.success_rate";

    /// <summary>Reserved share of capacity by resource (gauge, 1).</summary>
    public const string ResourceUtilization = "bpi.orchestration.resource.utilization";

    /// <summary>Average security score of active deployments (gauge, 1).</summary>
    public const string SecurityScoreAverage = "bpi.orchestration.security.score.average";

    /// <summary>Duration of one rollout step (histogram, s).</summary>
    public const string StepDuration = "bpi.orchestration.rollout.step.duration";

    /// <summary>Rollouts waiting in the queue (up-down counter, {rollout}).</summary>
    public const string QueueLength = "bpi.orchestration.queue.length";

    /// <summary>The active (not paused) time of a rollout, by outcome and strategy (histogram, s).</summary>
    public const string RolloutActiveTime = "bpi.orchestration.rollout.active_time";

    /// <summary>The paused time of a rollout (at pauses, gates or by a person), by outcome and strategy (histogram, s).</summary>
    public const string RolloutPausedTime = "bpi.orchestration.rollout.paused_time";

    /// <summary>DORA deployment frequency: promoted rollouts per day over <see cref="OrchestrationOptions.DoraWindow"/>, by app and environment (gauge, {deployment}/d).</summary>
    public const string DoraDeploymentFrequency = "bpi.orchestration.dora.deployment_frequency";

    /// <summary>DORA lead time: the median time from request to serving, by app and environment (gauge, s).</summary>
    public const string DoraLeadTime = "bpi.orchestration.dora.lead_time";

    /// <summary>DORA change failure rate: the share of rollouts that failed, by app and environment (gauge, 1).</summary>
    public const string DoraChangeFailureRate = "bpi.orchestration.dora.change_failure_rate";

    /// <summary>DORA time to restore: the median time from a failed rollout to the next promoted one, by app and environment (gauge, s).</summary>
    public const string DoraTimeToRestore = "bpi.orchestration.dora.time_to_restore";

    /// <summary>Instances self-healing replaced, by deployment and component (counter, {restart}).</summary>
    public const string InstanceRestarts = "bpi.orchestration.instance.restarts";

    /// <summary>Components whose replacement waits for the crash-loop back-off (gauge, {component}).</summary>
    public const string CrashLoopComponents = "bpi.orchestration.instance.crashloop";

    /// <summary>Each circuit breaker's state, by <c>target</c>: 0 closed, 1 half-open, 2 open (gauge, 1).</summary>
    public const string CircuitBreakerState = "bpi.orchestration.circuit_breaker.state";

    /// <summary>Circuit breaker state changes, by <c>target</c> and the <c>state</c> entered (<c>open</c>, <c>half_open</c>, <c>closed</c>) (counter, {transition}).</summary>
    public const string CircuitBreakerTransitions = "bpi.orchestration.circuit_breaker.transitions";
}

/// <summary>The SDK's meter, activity source and instruments for one orchestrator.</summary>
internal sealed class OrchestrationTelemetry : IDisposable
{
    public static readonly ActivitySource ActivitySource = new(OrchestrationTelemetryNames.Name);

    private readonly Meter _meter;
    private long _succeeded;
    private long _finished;

    public OrchestrationTelemetry(IMeterFactory? meterFactory, Func<ResourceUtilization> utilization, Func<double?> averageScore, Func<IEnumerable<DoraReport>> dora)
    {
        _meter = meterFactory?.Create(OrchestrationTelemetryNames.Name) ?? new Meter(OrchestrationTelemetryNames.Name);
        DeploymentsActive = _meter.CreateUpDownCounter<long>(OrchestrationTelemetryNames.DeploymentsActive, "{deployment}", "Deployments that are not destroyed.");
        DeploymentDuration = _meter.CreateHistogram<double>(OrchestrationTelemetryNames.DeploymentDuration, "s", "How long a rollout took, by deployment type and outcome.");
        DeploymentsCompleted = _meter.CreateCounter<long>(OrchestrationTelemetryNames.DeploymentsCompleted, "{rollout}", "Rollouts that ended, by deployment type and outcome.");
        StepDuration = _meter.CreateHistogram<double>(OrchestrationTelemetryNames.StepDuration, "s", "How long one rollout step took.");
        QueueLength = _meter.CreateUpDownCounter<long>(OrchestrationTelemetryNames.QueueLength, "{rollout}", "Rollouts waiting for a free slot.");
        InstanceRestarts = _meter.CreateCounter<long>(OrchestrationTelemetryNames.InstanceRestarts, "{restart}", "Instances self-healing replaced, by deployment and component.");
        _meter.CreateObservableGauge(
            OrchestrationTelemetryNames.CrashLoopComponents,
            () => CrashLooping?.Invoke() is { } n ? new[] { new Measurement<long>(n) } : [],
            "{component}",
            "Components whose replacement waits for the crash-loop back-off.");
        _meter.CreateObservableGauge(
            OrchestrationTelemetryNames.DeploymentSuccessRate,
            () =>
            {
                var finished = Interlocked.Read(ref _finished);
                return finished == 0 ? [] : new[] { new Measurement<double>((double)Interlocked.Read(ref _succeeded) / finished) };
            },
            "1",
            "The share of rollouts that succeeded.");
        _meter.CreateObservableGauge(
            OrchestrationTelemetryNames.ResourceUtilization,
            () =>
            {
                var u = utilization();
                var list = new List<Measurement<double>>(4);
                Add(list, "cpu", u.Cpu);
                Add(list, "memory", u.Memory);
                Add(list, "storage", u.Storage);
                Add(list, "network", u.Network);
                return list;
            },
            "1",
            "The reserved share of the configured capacity, by resource.");
        _meter.CreateObservableGauge(
            OrchestrationTelemetryNames.SecurityScoreAverage,
            () => averageScore() is { } s ? new[] { new Measurement<double>(s) } : [],
            "1",
            "The average security score (0-10) of active deployments.");
        CircuitBreakerTransitions = _meter.CreateCounter<long>(OrchestrationTelemetryNames.CircuitBreakerTransitions, "{transition}", "Circuit breaker state changes, by target and the state entered.");
        _meter.CreateObservableGauge(
            OrchestrationTelemetryNames.CircuitBreakerState,
            () => CircuitBreakers?.Invoke() is { } breakers
                ? breakers.Select(b => new Measurement<int>(GaugeValue(b.State), new KeyValuePair<string, object?>("target", b.Target)))
                : [],
            "1",
            "Each circuit breaker's state, by target: 0 closed, 1 half-open, 2 open.");
        RolloutActiveTime = _meter.CreateHistogram<double>(OrchestrationTelemetryNames.RolloutActiveTime, "s", "The active (not paused) time of a rollout, by outcome and strategy.");
        RolloutPausedTime = _meter.CreateHistogram<double>(OrchestrationTelemetryNames.RolloutPausedTime, "s", "The paused time of a rollout, by outcome and strategy.");
        _meter.CreateObservableGauge(OrchestrationTelemetryNames.DoraDeploymentFrequency, () => Dora(dora, d => d.DeploymentsPerDay), "{deployment}/d", "Promoted rollouts per day over the DORA window, by app and environment.");
        _meter.CreateObservableGauge(OrchestrationTelemetryNames.DoraLeadTime, () => Dora(dora, d => d.LeadTime?.TotalSeconds ?? double.NaN), "s", "The median time from request to serving, by app and environment.");
        _meter.CreateObservableGauge(OrchestrationTelemetryNames.DoraChangeFailureRate, () => Dora(dora, d => d.ChangeFailureRate), "1", "The share of rollouts that failed, by app and environment.");
        _meter.CreateObservableGauge(OrchestrationTelemetryNames.DoraTimeToRestore, () => Dora(dora, d => d.TimeToRestore?.TotalSeconds ?? double.NaN), "s", "The median time from a failed rollout to the next promoted one, by app and environment.");
    }

    public Histogram<double> RolloutActiveTime { get; }

    public Histogram<double> RolloutPausedTime { get; }

    public void RecordRolloutReport(RolloutReport report)
    {
        if (!RolloutActiveTime.Enabled && !RolloutPausedTime.Enabled)
        {
            return;
        }

        var tags = new TagList { { "outcome", report.Outcome.ToString().ToLowerInvariant() }, { "strategy.name", report.Strategy } };
        RolloutActiveTime.Record(report.ActiveTime.TotalSeconds, tags);
        RolloutPausedTime.Record(report.PausedTime.TotalSeconds, tags);
    }

    private static List<Measurement<double>> Dora(Func<IEnumerable<DoraReport>> reports, Func<DoraReport, double> pick)
    {
        var list = new List<Measurement<double>>();
        foreach (var report in reports())
        {
            var value = pick(report);
            if (!double.IsNaN(value))
            {
                list.Add(new Measurement<double>(value, new KeyValuePair<string, object?>("app.id", report.AppId), new KeyValuePair<string, object?>("deployment.environment", report.Environment)));
            }
        }

        return list;
    }

    public UpDownCounter<long> DeploymentsActive { get; }

    public Histogram<double> DeploymentDuration { get; }

    public Counter<long> DeploymentsCompleted { get; }

    public Histogram<double> StepDuration { get; }

    public UpDownCounter<long> QueueLength { get; }

    public Counter<long> InstanceRestarts { get; }

    public Counter<long> CircuitBreakerTransitions { get; }

    /// <summary>Lists the circuit breakers for the state gauge; set once the orchestrator is built.</summary>
    public Func<IReadOnlyList<Resilience.CircuitBreakerStatus>>? CircuitBreakers { get; set; }

    /// <summary>Counts a circuit breaker's state change.</summary>
    public void RecordCircuitBreakerChange(Resilience.CircuitBreakerStatus status)
        => CircuitBreakerTransitions.Add(1, new KeyValuePair<string, object?>("target", status.Target), new KeyValuePair<string, object?>("state", StateName(status.State)));

    /// <summary>The gauge's value for a state: 0 closed, 1 half-open, 2 open (the order of severity, not the enum's).</summary>
    internal static int GaugeValue(Resilience.CircuitBreakerState state) => state switch
    {
        Resilience.CircuitBreakerState.Open => 2,
        Resilience.CircuitBreakerState.HalfOpen => 1,
        _ => 0,
    };

    private static string StateName(Resilience.CircuitBreakerState state) => state switch
    {
        Resilience.CircuitBreakerState.Open => "open",
        Resilience.CircuitBreakerState.HalfOpen => "half_open",
        _ => "closed",
    };

    /// <summary>Counts the components in crash-loop back-off; set once the healing loop exists.</summary>
    public Func<long>? CrashLooping { get; set; }

    /// <summary>Counts a rollout's end; its duration (from <paramref name="started"/>, a <paramref name="time"/> timestamp) is read only when someone listens.</summary>
    public void RecordRolloutEnd(DeploymentType type, string strategy, string outcome, TimeProvider time, long started)
    {
        Interlocked.Increment(ref _finished);
        if (outcome == "succeeded")
        {
            Interlocked.Increment(ref _succeeded);
        }

        if (!DeploymentsCompleted.Enabled && !DeploymentDuration.Enabled)
        {
            // Nobody listens: the success-rate gauge above is all that needs keeping.
            return;
        }

        var tags = new TagList
        {
            { "deployment.type", StateNames.Of(type) },
            { "strategy.name", strategy },
            { "outcome", outcome },
        };
        DeploymentsCompleted.Add(1, tags);
        if (started != NotTimed)
        {
            // NotTimed: nobody listened when the rollout started (see RolloutStartTimestamp), so its start was not read.
            DeploymentDuration.Record(time.GetElapsedTime(started).TotalSeconds, tags);
        }
    }

    /// <summary>
    /// The timestamp a rollout's duration is measured from, read only when the duration histogram has a listener (a clock
    /// read costs ~30 ns on a virtual machine, and most hosts collect no metrics); <see cref="NotTimed"/> otherwise, which
    /// <see cref="RecordRolloutEnd"/> then records no duration for.
    /// </summary>
    public long RolloutStartTimestamp(TimeProvider time) => DeploymentDuration.Enabled ? time.GetTimestamp() : NotTimed;

    /// <summary>A rollout start that was not read (no timestamp is ever this value; a manual clock's first one is 0).</summary>
    public const long NotTimed = long.MinValue;

    public void Dispose() => _meter.Dispose();

    private static void Add(List<Measurement<double>> list, string resource, double? value)
    {
        if (value is { } v)
        {
            list.Add(new Measurement<double>(v, new KeyValuePair<string, object?>("resource", resource)));
        }
    }
}
