using System.Globalization;
using Bpi.Orchestration.Health;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Rollout.Steps;

/// <summary>
/// Waits until enough instances of a component revision are ready: running, not reported unhealthy by the runtime,
/// passing the component's health check with Kubernetes probe semantics (initial delay, period, timeout, success and
/// failure thresholds), and ready for the spec's minimum ready time. An instance that exits fails the step at once with
/// <see cref="OrchestrationErrorKind.ContainerStartupFailed"/> and its last log lines; the progress deadline fails it
/// with <see cref="OrchestrationErrorKind.Timeout"/>.
/// </summary>
internal sealed class AwaitReadyHandler : RolloutStepHandler<AwaitReadyStep>
{
    internal const int LogLinesOnFailure = 20;

    /// <summary>The first probe that can probe <paramref name="kind"/> (a loop: a lambda here would capture the check on every step).</summary>
    private static IHealthProbe? ProbeFor(IReadOnlyList<IHealthProbe> probes, HealthCheckKind kind)
    {
        for (var i = 0; i < probes.Count; i++)
        {
            if (probes[i].CanProbe(kind))
            {
                return probes[i];
            }
        }

        return null;
    }

    protected override async ValueTask ExecuteAsync(AwaitReadyStep step, RolloutStepContext context, CancellationToken cancellationToken)
    {
        if (step.MinReady <= 0)
        {
            return;
        }

        var spec = context.GetRevision(step.Revision).Spec;
        var component = context.GetComponent(step.ComponentId, step.Revision);
        var check = spec.Validation.HealthValidation ? component.HealthCheck : null;
        var probe = check is null ? null : ProbeFor(context.Probes, check.Kind);
        var deadline = step.Deadline ?? spec.Validation.ProgressDeadline;
        var interval = probe is not null && check!.Period < spec.Validation.PollInterval ? check.Period : spec.Validation.PollInterval;
        var time = context.TimeProvider;
        // Without a probe or a minimum ready time an instance is ready when it runs and is not unhealthy: no tracking.
        var track = probe is not null || spec.Validation.MinReadyTime > TimeSpan.Zero;

        // The deadline counts from the step's start; without tracking, from the first look at the instances (one runtime
        // read later), so a step that finds them ready at once — most do — never reads the clock.
        var started = track ? time.GetTimestamp() : 0;
        var clockStarted = track;
        var trackers = track ? new Dictionary<string, ProbeTracker>(StringComparer.Ordinal) : null;
        var lastReported = -1;
        string? lastProblem = null;

        while (true)
        {
            await context.WaitWhilePausedAsync(cancellationToken).ConfigureAwait(false);
            var instances = await context.GetInstancesAsync(step.ComponentId, step.Revision, cancellationToken).ConfigureAwait(false);

            for (var index = 0; index < instances.Count; index++)
            {
                var instance = instances[index];
                if (instance.IsTerminated)
                {
                    throw await StartupFailedAsync(context, step, instance, cancellationToken).ConfigureAwait(false);
                }
            }

            // Only probes and a minimum ready time need the time of day.
            var now = trackers is null ? default : time.GetUtcNow();
            if (probe is not null)
            {
                var due = new List<Task>();
                for (var index = 0; index < instances.Count; index++)
                {
                    var instance = instances[index];
                    var tracker = GetTracker(trackers!, instance);
                    if (instance.State == InstanceState.Running && instance.Health != InstanceHealth.Unhealthy
                        && now >= (instance.StartedAt ?? now) + check!.InitialDelay && now >= tracker.NextProbeAt)
                    {
                        tracker.NextProbeAt = now + check.Period;
                        due.Add(ProbeAsync(probe, instance, check, tracker, time, cancellationToken));
                    }
                }

                await Task.WhenAll(due).ConfigureAwait(false);
                now = time.GetUtcNow();
            }

            var ready = 0;
            for (var index = 0; index < instances.Count; index++)
            {
                var instance = instances[index];
                if (trackers is null)
                {
                    if (instance.State == InstanceState.Running && instance.Health != InstanceHealth.Unhealthy)
                    {
                        ready++;
                        continue;
                    }
                }

                var tracker = trackers is null ? null : GetTracker(trackers, instance);
                if (instance.State != InstanceState.Running || instance.Health == InstanceHealth.Unhealthy)
                {
                    tracker?.Reset();
                    lastProblem = $"instance {instance.InstanceId} is {(instance.State == InstanceState.Running ? "unhealthy" : instance.State.ToString().ToLowerInvariant())}"
                        + (instance.Message is null ? "" : $" ({instance.Message})");
                    continue;
                }

                if (tracker is null)
                {
                    continue;
                }

                if (probe is null)
                {
                    tracker.MarkReady(now);
                }
                else if (!tracker.Ready && tracker.LastFailure is not null)
                {
                    lastProblem = $"instance {instance.InstanceId} failed its {check!.Kind} health check: {tracker.LastFailure}";
                }

                if (tracker.Ready && now - tracker.ReadySince >= spec.Validation.MinReadyTime)
                {
                    ready++;
                }
            }

            if (ready != lastReported)
            {
                lastReported = ready;
                context.ReportReadiness(step, ready);
            }

            if (ready >= step.MinReady)
            {
                return;
            }

            if (!clockStarted)
            {
                started = time.GetTimestamp();
                clockStarted = true;
            }

            if (time.GetElapsedTime(started) >= deadline)
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.Timeout,
                    string.Create(CultureInfo.InvariantCulture, $"Progress deadline exceeded: {ready} of {step.MinReady} instance(s) of component '{step.ComponentId}' revision {step.Revision} were ready after {deadline}")
                    + (lastProblem is null ? "." : $"; last problem: {lastProblem}.")
                    + " Check the instances' logs and health check, or raise validation.progressDeadline.");
            }

            await Task.Delay(interval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static ProbeTracker GetTracker(Dictionary<string, ProbeTracker> trackers, WorkloadInstance instance)
    {
        if (!trackers.TryGetValue(instance.InstanceId, out var tracker))
        {
            tracker = new ProbeTracker();
            trackers[instance.InstanceId] = tracker;
        }

        return tracker;
    }

    private static async Task ProbeAsync(IHealthProbe probe, WorkloadInstance instance, HealthCheckSpec check, ProbeTracker tracker, TimeProvider time, CancellationToken cancellationToken)
    {
        ProbeResult result;
        using (var timeout = new CancellationTokenSource(check.Timeout, time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                result = await probe.ProbeAsync(instance, check, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                result = ProbeResult.Fail(string.Create(CultureInfo.InvariantCulture, $"timed out after {check.Timeout}"));
            }
        }

        tracker.Record(result, check, time.GetUtcNow());
    }

    private static async Task<OrchestrationException> StartupFailedAsync(RolloutStepContext context, AwaitReadyStep step, WorkloadInstance instance, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> lines;
        try
        {
            lines = await context.Runtime.GetLogTailAsync(instance.InstanceId, LogLinesOnFailure, cancellationToken).ConfigureAwait(false);
        }
        catch (OrchestrationException)
        {
            lines = [];
        }

        var message = $"Instance {instance.InstanceId} of component '{step.ComponentId}' revision {step.Revision.ToString(CultureInfo.InvariantCulture)} {(instance.State == InstanceState.Failed ? "failed" : "exited")}"
            + (instance.ExitCode is { } code ? " with exit code " + code.ToString(CultureInfo.InvariantCulture) : "")
            + (instance.Message is null ? "" : $": {instance.Message}")
            + ".";
        if (lines.Count > 0)
        {
            message += " Last log lines:" + string.Concat(lines.Select(l => Environment.NewLine + "  | " + l));
        }
        else
        {
            message += " It wrote no log lines.";
        }

        return new OrchestrationException(OrchestrationErrorKind.ContainerStartupFailed, message, lines);
    }

    private sealed class ProbeTracker
    {
        private int _successes;
        private int _failures;

        public bool Ready { get; private set; }

        public DateTimeOffset ReadySince { get; private set; }

        public DateTimeOffset NextProbeAt { get; set; } = DateTimeOffset.MinValue;

        public string? LastFailure { get; private set; }

        public void MarkReady(DateTimeOffset now)
        {
            if (!Ready)
            {
                Ready = true;
                ReadySince = now;
            }
        }

        public void Reset()
        {
            Ready = false;
            _successes = 0;
            _failures = 0;
        }

        public void Record(ProbeResult result, HealthCheckSpec check, DateTimeOffset now)
        {
            if (result.Healthy)
            {
                _failures = 0;
                _successes++;
                LastFailure = null;
                if (_successes >= check.SuccessThreshold)
                {
                    MarkReady(now);
                }
            }
            else
            {
                _successes = 0;
                _failures++;
                LastFailure = result.Message ?? "unhealthy";
                if (_failures >= check.FailureThreshold)
                {
                    Ready = false;
                }
            }
        }
    }
}
