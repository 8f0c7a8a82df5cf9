using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration;

/// <summary>
/// What one deployment's running plan is doing right now, for status: the current step (spelled out only when read),
/// the percentage done and the traffic last recorded per component. Written by the step recorder, read by queries.
/// </summary>
internal sealed class RolloutProgress
{
    private readonly Lock _gate;
    private readonly List<(string ComponentId, IReadOnlyDictionary<int, int> Weights, bool Approximated)> _traffic = new(1); // per component: a few
    private string? _message;
    private StepAudit? _step; // the step that started last: its audit details, and its description once asked for
    private (AwaitReadyStep Step, int Ready)? _readiness; // the last readiness reported, spelled out when read
    private int _stepTotal;
    private int _percent;

    /// <summary>Creates the progress of one deployment.</summary>
    /// <param name="gate">The deployment's lock (<see cref="DeploymentEntry.Gate"/>); a lock of its own when <see langword="null"/>.</param>
    public RolloutProgress(Lock? gate = null) => _gate = gate ?? new Lock();

    /// <summary>The current step as people read it, or <see langword="null"/> between steps.</summary>
    public string? CurrentStep
    {
        get
        {
            lock (_gate)
            {
                // Formatted when asked for: a rollout announces every step, but few are looked at.
                return _message
                       ?? (_readiness is { } r ? ReadinessText(r.Step, r.Ready) : null)
                       ?? (_step is null ? null : string.Create(CultureInfo.InvariantCulture, $"{_step.Index + 1}/{_stepTotal} {_step.Description}"));
            }
        }
    }

    /// <summary>The share of the plan's steps completed, 0 to 100.</summary>
    public int Percent
    {
        get
        {
            lock (_gate)
            {
                return _percent;
            }
        }
    }

    public static string ReadinessText(AwaitReadyStep step, int ready)
        => string.Create(CultureInfo.InvariantCulture, $"{step.ComponentId} revision {step.Revision}: {ready} of {step.MinReady} ready");

    /// <summary>A new plan run begins: nothing done yet.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _message = null;
            _step = null;
            _readiness = null;
            _percent = 0;
        }
    }

    /// <summary>No plan runs any more: no current step.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _message = null;
            _step = null;
            _readiness = null;
        }
    }

    public void StepStarted(StepAudit step, int total)
    {
        lock (_gate)
        {
            _message = null;
            _readiness = null;
            _step = step;
            _stepTotal = total;
        }
    }

    /// <summary>Step <paramref name="index"/> of <paramref name="plan"/> completed; returns its audit details when it is the step that started last.</summary>
    public StepAudit? StepCompleted(RolloutPlan plan, int index)
    {
        lock (_gate)
        {
            _percent = (int)((index + 1) * 100L / plan.Steps.Count);
            return _step is { } current && current.Is(plan, index) ? current : null;
        }
    }

    public void Report(string message)
    {
        lock (_gate)
        {
            _message = message;
            _readiness = null;
        }
    }

    public void ReportReadiness(AwaitReadyStep step, int ready)
    {
        lock (_gate)
        {
            // Spelled out when read (status) or watched, not on every poll of every rollout.
            _message = null;
            _readiness = (step, ready);
        }
    }

    /// <summary>The audit details of the step that started last when it is <paramref name="index"/> of <paramref name="plan"/>.</summary>
    public StepAudit? StartedStep(RolloutPlan plan, int index)
    {
        lock (_gate)
        {
            return _step is { } current && current.Is(plan, index) ? current : null;
        }
    }

    public void RecordTraffic(string componentId, IReadOnlyDictionary<int, int> weights, bool approximated)
    {
        lock (_gate)
        {
            var recorded = (componentId, Rollout.TrafficWeights.IsImmutable(weights) ? weights : new Dictionary<int, int>(weights), approximated);
            var at = IndexOfTraffic(componentId);
            if (at < 0)
            {
                _traffic.Add(recorded);
            }
            else
            {
                _traffic[at] = recorded;
            }
        }
    }

    /// <summary>Forgets the traffic recorded (the deployment is destroyed: it has none).</summary>
    public void ForgetTraffic()
    {
        lock (_gate)
        {
            _traffic.Clear();
            _traffic.TrimExcess();
        }
    }

    /// <summary>The traffic last recorded for one component; default when none was.</summary>
    public (IReadOnlyDictionary<int, int>? Weights, bool Approximated) GetTraffic(string componentId)
    {
        lock (_gate)
        {
            var at = IndexOfTraffic(componentId);
            return at < 0 ? default : (_traffic[at].Weights, _traffic[at].Approximated);
        }
    }

    private int IndexOfTraffic(string componentId)
    {
        for (var i = 0; i < _traffic.Count; i++)
        {
            if (string.Equals(_traffic[i].ComponentId, componentId, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
