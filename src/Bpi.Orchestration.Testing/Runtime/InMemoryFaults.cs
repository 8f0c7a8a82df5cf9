using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Testing;

/// <summary>
/// Faults and behaviours injected into the <see cref="InMemoryWorkloadRuntime"/>, matched against the revision an
/// instance belongs to. Rules apply to instances created after they are added.
/// </summary>
public sealed class InMemoryFaults
{
    private readonly InMemoryWorkloadRuntime? _runtime;
    private readonly Lock _gate = new();
    private readonly HashSet<(string InstanceId, string Path)> _failingChecks = [];
    private readonly List<FaultRule> _rules = [];
    private int _failNextCalls;

    /// <summary>Creates fault rules not tied to a runtime (per-instance faults then do nothing).</summary>
    public InMemoryFaults()
    {
    }

    internal InMemoryFaults(InMemoryWorkloadRuntime runtime) => _runtime = runtime;

    /// <summary>Ends a running instance now, as <c>kill -9</c> would (exit code 137); self-healing sees it through the runtime's events.</summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="exitCode">The exit code to report.</param>
    /// <returns>Whether the instance existed and was running.</returns>
    public bool Kill(string instanceId, int exitCode = 137) => _runtime?.Kill(instanceId, exitCode, "killed") ?? false;

    /// <summary>Removes an instance behind the orchestrator's back (as <c>docker rm -f</c> would).</summary>
    /// <param name="instanceId">The instance.</param>
    /// <returns>Whether the instance existed.</returns>
    public bool Remove(string instanceId) => _runtime?.Remove(instanceId) ?? false;

    /// <summary>Sets the health the runtime itself reports for an instance (as Docker's HEALTHCHECK does): an unhealthy instance is not ready and leaves traffic.</summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="health">The health to report.</param>
    /// <returns>Whether the instance existed and was running.</returns>
    public bool SetHealth(string instanceId, InstanceHealth health) => _runtime?.SetHealth(instanceId, health) ?? false;

    /// <summary>
    /// Makes the health checks of an instance on <paramref name="path"/> fail (answered by <see cref="InMemoryHealthProbe"/>), or pass
    /// again: fail the liveness check's path to have the instance replaced, the readiness check's path to take it out of traffic.
    /// </summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="path">The path of the check (<see cref="HealthCheckSpec.Path"/>).</param>
    /// <param name="failing">Whether the checks fail.</param>
    /// <returns>This, for chaining.</returns>
    public InMemoryFaults FailHealthCheck(string instanceId, string path, bool failing = true)
    {
        lock (_gate)
        {
            if (failing)
            {
                _failingChecks.Add((instanceId, path));
            }
            else
            {
                _failingChecks.Remove((instanceId, path));
            }
        }

        return this;
    }

    internal bool IsCheckFailing(string instanceId, string path)
    {
        lock (_gate)
        {
            return _failingChecks.Contains((instanceId, path));
        }
    }

    /// <summary>Instances of matching revisions fail to start: they end up Failed with the exit code, message and log lines given.</summary>
    /// <param name="match">Which revisions.</param>
    /// <param name="exitCode">The exit code to report.</param>
    /// <param name="message">The reason to report.</param>
    /// <param name="logLines">The log lines the instance "wrote".</param>
    /// <returns>This, for chaining.</returns>
    public InMemoryFaults FailStart(Func<WorkloadRevision, bool> match, int exitCode = 1, string message = "simulated startup failure", params string[] logLines)
        => Add(new FaultRule(match, FaultKind.FailStart, TimeSpan.Zero, exitCode, message, logLines, 0, TimeSpan.Zero));

    /// <summary>Instances of matching revisions crash (exit) <paramref name="after"/> they start.</summary>
    /// <param name="match">Which revisions.</param>
    /// <param name="after">How long after the start.</param>
    /// <param name="exitCode">The exit code to report.</param>
    /// <returns>This, for chaining.</returns>
    public InMemoryFaults CrashAfter(Func<WorkloadRevision, bool> match, TimeSpan after, int exitCode = 137)
        => Add(new FaultRule(match, FaultKind.Crash, after, exitCode, "simulated crash", [], 0, TimeSpan.Zero));

    /// <summary>Instances of matching revisions turn unhealthy <paramref name="after"/> they start (they keep running); with zero they are unhealthy from the start.</summary>
    /// <param name="match">Which revisions.</param>
    /// <param name="after">How long after the start.</param>
    /// <returns>This, for chaining.</returns>
    public InMemoryFaults UnhealthyAfter(Func<WorkloadRevision, bool> match, TimeSpan after)
        => Add(new FaultRule(match, FaultKind.Unhealthy, after, null, "simulated health failure", [], 0, TimeSpan.Zero));

    /// <summary>Requests sent to instances of matching revisions (through <see cref="InMemoryTrafficRouter.SendRequest"/>) fail with the given probability and take the given latency.</summary>
    /// <param name="match">Which revisions.</param>
    /// <param name="errorRate">The probability (0–1) that a request fails.</param>
    /// <param name="latency">How long a request takes.</param>
    /// <returns>This, for chaining.</returns>
    public InMemoryFaults RespondWith(Func<WorkloadRevision, bool> match, double errorRate, TimeSpan latency = default)
        => Add(new FaultRule(match, FaultKind.Response, TimeSpan.Zero, null, null, [], errorRate, latency));

    /// <summary>The next <paramref name="count"/> runtime calls fail with a transient <see cref="OrchestrationErrorKind.RuntimeUnavailable"/> error.</summary>
    /// <param name="count">How many calls fail.</param>
    /// <returns>This, for chaining.</returns>
    public InMemoryFaults FailNextCalls(int count)
    {
        lock (_gate)
        {
            _failNextCalls += count;
        }

        return this;
    }

    /// <summary>Removes every rule.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _rules.Clear();
            _failNextCalls = 0;
        }
    }

    internal bool TakeCallFailure()
    {
        lock (_gate)
        {
            if (_failNextCalls <= 0)
            {
                return false;
            }

            _failNextCalls--;
            return true;
        }
    }

    internal List<FaultRule> Matching(WorkloadRevision revision)
    {
        lock (_gate)
        {
            return [.. _rules.Where(r => r.Match(revision))];
        }
    }

    private InMemoryFaults Add(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule.Match);
        lock (_gate)
        {
            _rules.Add(rule);
        }

        return this;
    }

    internal enum FaultKind
    {
        FailStart,
        Crash,
        Unhealthy,
        Response,
    }

    internal sealed record FaultRule(Func<WorkloadRevision, bool> Match, FaultKind Kind, TimeSpan After, int? ExitCode, string? Message, string[] LogLines, double ErrorRate, TimeSpan Latency);
}
