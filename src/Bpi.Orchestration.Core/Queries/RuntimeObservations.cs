using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Queries;

/// <summary>
/// What the runtime last reported about each deployment's instances, for status reads. A read asks the runtime once,
/// without the retry pipeline (retries are for rollouts, which must not fail on a blip; a read must not wait one out),
/// at most one call per deployment at a time, and waits for it at most <see cref="ReadBudget"/>: when the runtime fails,
/// or is still answering an earlier read, the read answers from the last observation, says when it was made and why
/// it could not be refreshed.
/// </summary>
internal sealed class RuntimeObservations(TimeProvider time)
{
    /// <summary>How long a status read waits for the runtime before it answers from the last observation.</summary>
    internal static readonly TimeSpan ReadBudget = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Observation> _last = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refreshing = new(StringComparer.Ordinal);

    /// <summary>Asks the runtime for the deployment's instances (or joins the call in flight) and returns the freshest observation it may wait for.</summary>
    public async ValueTask<Observation> ReadAsync(IWorkloadRuntime runtime, string deploymentId, CancellationToken cancellationToken)
    {
        bool inFlight;
        lock (_gate)
        {
            inFlight = !_refreshing.Add(deploymentId);
        }

        if (inFlight)
        {
            // A read already waits on the runtime for this deployment: do not stack another call, answer now.
            return Current(deploymentId, stillReading: true);
        }

        var refresh = RefreshAsync(runtime, deploymentId);
        if (!refresh.IsCompleted)
        {
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var first = await Task.WhenAny(refresh, Task.Delay(ReadBudget, time, budget.Token)).ConfigureAwait(false);
            Rollout.RolloutControl.CancelInline(budget);
            cancellationToken.ThrowIfCancellationRequested();
            if (first != refresh)
            {
                return Current(deploymentId, stillReading: true);
            }
        }

        return Current(deploymentId, stillReading: false);
    }

    /// <summary>How many deployments have an observation kept.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _last.Count;
            }
        }
    }

    /// <summary>Forgets a deployment that is no longer live.</summary>
    public void Forget(string deploymentId)
    {
        lock (_gate)
        {
            _last.Remove(deploymentId);
        }
    }

    private Observation Current(string deploymentId, bool stillReading)
    {
        lock (_gate)
        {
            var last = _last.GetValueOrDefault(deploymentId) ?? Observation.None;
            return stillReading && last.Error is null
                ? last with { Error = $"the runtime has not answered within {ReadBudget.TotalSeconds:0.#} s; instance counts are from the last answer", ErrorKind = OrchestrationErrorKind.Timeout }
                : last;
        }
    }

    private async Task RefreshAsync(IWorkloadRuntime runtime, string deploymentId)
    {
        Observation next;
        try
        {
            // No caller's token: the call may be shared by later reads; the runtime's own timeouts bound it.
            var instances = await runtime.GetInstancesAsync(deploymentId, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            next = new Observation(instances, time.GetUtcNow(), null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            lock (_gate)
            {
                var last = _last.GetValueOrDefault(deploymentId) ?? Observation.None;
                next = last with { Error = $"the runtime '{runtime.Name}' could not be read: {ex.Message}", ErrorKind = (ex as OrchestrationException)?.Kind ?? OrchestrationErrorKind.Unknown };
            }
        }

        lock (_gate)
        {
            _last[deploymentId] = next;
            _refreshing.Remove(deploymentId);
        }
    }

    /// <summary>The instances the runtime last reported, when, and why the latest read failed (if it did).</summary>
    internal sealed record Observation(IReadOnlyList<WorkloadInstance> Instances, DateTimeOffset? ObservedAt, string? Error)
    {
        /// <summary>What kind of failure <see cref="Error"/> is (for example <see cref="OrchestrationErrorKind.RuntimeUnavailable"/> while the runtime's circuit is open).</summary>
        public OrchestrationErrorKind? ErrorKind { get; init; }

        public static Observation None { get; } = new([], null, null);
    }
}
