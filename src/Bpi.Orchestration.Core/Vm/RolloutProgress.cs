using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Threading;

namespace Bpi.Orchestration;

/// <summary>
/// What one deployment's running plan is doing right now, for status: the current step (spelled out only when read),
/// the percentage done and the traffic last recorded per component. Written by the step recorder, read by queries.
/// </summary>
internal sealed class RolloutProgress
{
    private SpinLock _spin = LeafLock.Create(); // leaf sections only (see LeafLock): a rollout reports here several times per step
    private readonly List<(string ComponentId, IReadOnlyDictionary<int, int> Weights, bool Approximated)> _traffic = new(1); // per component: a few
    private string? _message;
    private StepAudit? _step; // the step that started last: its audit details, and its description once asked for
    private (AwaitReadyStep Step, int Ready)? _readiness; // the last readiness reported, spelled out when read
    private int _stepTotal;
    private int _percent;

    /// <summary>The current step as people read it, or <see langword="null"/> between steps.</summary>
    public string? CurrentStep
    {
        get
        {
            string? message;
            (AwaitReadyStep Step, int Ready)? readiness;
            StepAudit? step;
            int total;
            using (LeafLock.Enter(ref _spin))
            {
                (message, readiness, step, total) = (_message, _readiness, _step, _stepTotal);
            }

            // Formatted when asked for, outside the lock: a rollout announces every step, but few are looked at.
            return message
                   ?? (readiness is { } r ? ReadinessText(r.Step, r.Ready) : null)
                   ?? (step is null ? null : string.Create(CultureInfo.InvariantCulture, $"{step.Index + 1}/{total} {step.Description}"));
        }
    }

    /// <summary>The share of the plan's steps completed, 0 to 100.</summary>
    public int Percent
    {
        get
        {
            using (LeafLock.Enter(ref _spin))
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
        using (LeafLock.Enter(ref _spin))
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
        using (LeafLock.Enter(ref _spin))
        {
            _message = null;
            _step = null;
            _readiness = null;
        }
    }

    public void StepStarted(StepAudit step, int total)
    {
        using (LeafLock.Enter(ref _spin))
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
        using (LeafLock.Enter(ref _spin))
        {
            _percent = (int)((index + 1) * 100L / plan.Steps.Count);
            return StartedStepUnderLock(plan, index);
        }
    }

    public void Report(string message)
    {
        using (LeafLock.Enter(ref _spin))
        {
            _message = message;
            _readiness = null;
        }
    }

    public void ReportReadiness(AwaitReadyStep step, int ready)
    {
        using (LeafLock.Enter(ref _spin))
        {
            // Spelled out when read (status) or watched, not on every poll of every rollout.
            _message = null;
            _readiness = (step, ready);
        }
    }

    /// <summary>The audit details of the step that started last when it is <paramref name="index"/> of <paramref name="plan"/>.</summary>
    public StepAudit? StartedStep(RolloutPlan plan, int index)
    {
        using (LeafLock.Enter(ref _spin))
        {
            return StartedStepUnderLock(plan, index);
        }
    }

    private StepAudit? StartedStepUnderLock(RolloutPlan plan, int index) => _step is { } current && current.Is(plan, index) ? current : null;

    public void RecordTraffic(string componentId, IReadOnlyDictionary<int, int> weights, bool approximated)
    {
        // The copy (of a caller's dictionary) is made before the lock: a leaf section calls nothing.
        var recorded = (componentId, Rollout.TrafficWeights.IsImmutable(weights) ? weights : new Dictionary<int, int>(weights), approximated);
        using (LeafLock.Enter(ref _spin))
        {
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
        using (LeafLock.Enter(ref _spin))
        {
            // Capacity 0, not TrimExcess: that keeps an array of one entry, which a destroyed entry would hold while it is retained.
            _traffic.Clear();
            _traffic.Capacity = 0;
        }
    }

    /// <summary>The traffic last recorded for one component; default when none was.</summary>
    public (IReadOnlyDictionary<int, int>? Weights, bool Approximated) GetTraffic(string componentId)
    {
        using (LeafLock.Enter(ref _spin))
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
