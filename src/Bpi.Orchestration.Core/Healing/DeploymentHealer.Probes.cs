using System.Globalization;
using Bpi.Orchestration.Health;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Healing;

/// <summary>
/// Liveness and readiness between rollouts: the serving revision's running instances are probed with the component's
/// <see cref="ComponentSpec.LivenessCheck"/> and <see cref="ComponentSpec.HealthCheck"/> (readiness) every period, with
/// Kubernetes thresholds. A change (an instance turns not ready, ready again, or fails its liveness check) wakes a pass.
/// </summary>
internal sealed partial class DeploymentHealer
{
    private Dictionary<(string InstanceId, bool Liveness), ProbeState>? _probes; // made with the first probe result: most deployments never probe
    private ITimer? _probeTimer;
    private int _probedRevision;
    private Task _probeRound = Task.CompletedTask;

    private bool IsNotLive(string instanceId) => _probes is not null && _probes.TryGetValue((instanceId, true), out var state) && !state.Passing;

    private bool IsNotReady(string instanceId) => _probes is not null && _probes.TryGetValue((instanceId, false), out var state) && !state.Passing;

    /// <summary>Starts (or moves to a new serving revision) the probe timer when a component has a check a probe can run.</summary>
    private void EnsureProbing(RevisionSpec stable)
    {
        lock (_gate)
        {
            if (_stopped || _probedRevision == stable.Number)
            {
                return;
            }

            _probedRevision = stable.Number;
            _probeTimer?.Dispose();
            _probeTimer = null;
            var period = TimeSpan.MaxValue;
            foreach (var component in stable.Spec.Components)
            {
                foreach (var (check, _) in Checks(stable, component))
                {
                    period = check.Period < period ? check.Period : period;
                }
            }

            if (period != TimeSpan.MaxValue)
            {
                _probeTimer = Time.CreateTimer(static s => ((DeploymentHealer)s!).StartProbeRound(), this, period, period);
            }
        }
    }

    /// <summary>The checks a registered probe can run: liveness always, readiness when the spec validates health.</summary>
    private IEnumerable<(HealthCheckSpec Check, bool Liveness)> Checks(RevisionSpec stable, ComponentSpec component)
    {
        if (component.LivenessCheck is { } liveness && FindProbe(liveness) is not null)
        {
            yield return (liveness, true);
        }

        if (stable.Spec.Validation.HealthValidation && component.HealthCheck is { } readiness && FindProbe(readiness) is not null)
        {
            yield return (readiness, false);
        }
    }

    private IHealthProbe? FindProbe(HealthCheckSpec check)
    {
        foreach (var probe in _loop.Probes)
        {
            if (probe.CanProbe(check.Kind))
            {
                return probe;
            }
        }

        return null;
    }

    /// <summary>
    /// Starts a probe round from the probe timer unless one runs (a slow probe does not pile rounds up). The round is
    /// tracked (<see cref="_probeRound"/>) and its calls carry the healer's lifetime token, so stopping cancels and awaits it.
    /// </summary>
    private void StartProbeRound()
    {
        TaskCompletionSource done;
        CancellationToken cancellationToken;
        lock (_gate)
        {
            if (_stopped || !_probeRound.IsCompleted)
            {
                return;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _probeRound = done.Task;
            cancellationToken = LifetimeToken;
        }

        _ = RunProbeRoundAsync(done, cancellationToken);
    }

    private async Task RunProbeRoundAsync(TaskCompletionSource done, CancellationToken cancellationToken)
    {
        try
        {
            await ProbeOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            done.SetResult();
        }
    }

    private async Task ProbeOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (!_loop.ShouldAct(_entry) || _entry.Record.StableRevision is not { } number || _entry.Record.FindRevision(number) is not { } stable)
            {
                return;
            }

            var instances = await _loop.Runtime!.GetInstancesAsync(_entry.DeploymentId, null, number, cancellationToken).ConfigureAwait(false);
            var changed = false;
            var now = Time.GetUtcNow();
            foreach (var component in stable.Spec.Components)
            {
                foreach (var (check, liveness) in Checks(stable, component))
                {
                    var probe = FindProbe(check)!;
                    foreach (var instance in instances)
                    {
                        if (instance.ComponentId != component.Id || instance.State != InstanceState.Running || now < (instance.StartedAt ?? now) + check.InitialDelay)
                        {
                            continue;
                        }

                        var result = await ProbeAsync(probe, instance, check, cancellationToken).ConfigureAwait(false);
                        lock (_gate)
                        {
                            var probes = _probes ??= [];
                            if (!probes.TryGetValue((instance.InstanceId, liveness), out var state))
                            {
                                state = new ProbeState();
                                probes[(instance.InstanceId, liveness)] = state;
                            }

                            changed |= state.Record(result, check);
                        }
                    }
                }
            }

            if (changed)
            {
                Wake();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The healer stops.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Telemetry.Log.HealingPassFailed(_loop.Recorder.Logger, ex, _entry.DeploymentId);
        }
    }

    private async Task<ProbeResult> ProbeAsync(IHealthProbe probe, WorkloadInstance instance, HealthCheckSpec check, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(check.Timeout, Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            return await probe.ProbeAsync(instance, check, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return ProbeResult.Fail(string.Create(CultureInfo.InvariantCulture, $"timed out after {check.Timeout}"));
        }
    }

    /// <summary>Forgets the probe results of instances the runtime no longer reports; called under the lock.</summary>
    private void ForgetProbes(IReadOnlyList<WorkloadInstance> observed)
    {
        if (_probes is not { Count: > 0 })
        {
            return;
        }

        var present = new HashSet<string>(observed.Select(i => i.InstanceId), StringComparer.Ordinal);
        foreach (var key in _probes.Keys.Where(k => !present.Contains(k.InstanceId)).ToList())
        {
            _probes.Remove(key);
        }
    }

    /// <summary>Consecutive results of one check on one instance; an instance passes until it fails the failure threshold.</summary>
    private sealed class ProbeState
    {
        private int _successes;
        private int _failures;

        public bool Passing { get; private set; } = true;

        /// <summary>Records a result; returns whether <see cref="Passing"/> changed.</summary>
        public bool Record(ProbeResult result, HealthCheckSpec check)
        {
            var before = Passing;
            if (result.Healthy)
            {
                _failures = 0;
                _successes++;
                if (_successes >= check.SuccessThreshold)
                {
                    Passing = true;
                }
            }
            else
            {
                _successes = 0;
                _failures++;
                if (_failures >= check.FailureThreshold)
                {
                    Passing = false;
                }
            }

            return before != Passing;
        }
    }
}
