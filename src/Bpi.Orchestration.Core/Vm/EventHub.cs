using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Bpi.Orchestration;

/// <summary>Fans deployment events out to watchers. Each watcher has its own unbounded channel, so a slow watcher never blocks a rollout and never misses an event.</summary>
internal sealed class EventHub
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private Subscription[] _subscriptions = [];
    private long _sequence;
    private bool _completed;

    public EventHub(TimeProvider time) => _time = time;

    /// <summary>Whether anyone watches; a publisher checks it before building an event's text.</summary>
    public bool HasWatchers => Volatile.Read(ref _subscriptions).Length > 0;

    /// <summary>Publishes an event to the watchers of its deployment; without any watcher only the sequence advances (nothing is built).</summary>
    public void Publish(string deploymentId, DeploymentEventKind kind, DeploymentState state, string message, in EventDetails details = default)
    {
        if (!HasWatchers)
        {
            // Nobody watches: only the sequence advances, without the lock. A watcher subscribing meanwhile gets the
            // events published after its subscription, which this one is not.
            Interlocked.Increment(ref _sequence);
            return;
        }

        lock (_gate)
        {
            // Numbered under the lock (an atomic increment, since the path above takes none) so every watcher sees
            // sequence numbers in the order they are written.
            var sequence = Interlocked.Increment(ref _sequence);
            var subscribers = _subscriptions;
            if (subscribers.Length == 0)
            {
                return;
            }

            var e = new DeploymentEvent(sequence, _time.GetUtcNow(), deploymentId, kind, state, message)
            {
                StepIndex = details.StepIndex,
                TotalSteps = details.TotalSteps,
                StepKind = details.StepKind,
                PreviousState = details.PreviousState,
                Revision = details.Revision,
                CircuitBreaker = details.CircuitBreaker,
            };

            // Written under the lock so every watcher sees events in sequence order.
            foreach (var s in subscribers)
            {
                if (s.DeploymentId is null || string.Equals(s.DeploymentId, deploymentId, StringComparison.Ordinal))
                {
                    s.Channel.Writer.TryWrite(e);
                }
            }
        }
    }

    /// <summary>Subscribes now (not at the first MoveNext), so no event published after this call is missed.</summary>
    public IAsyncEnumerable<DeploymentEvent> Subscribe(string? deploymentId, CancellationToken cancellationToken)
    {
        var subscription = new Subscription(deploymentId, Channel.CreateUnbounded<DeploymentEvent>(new UnboundedChannelOptions { SingleReader = true }));
        lock (_gate)
        {
            if (_completed)
            {
                subscription.Channel.Writer.TryComplete();
            }
            else
            {
                Volatile.Write(ref _subscriptions, [.. _subscriptions, subscription]);
            }
        }

        return ReadAsync(subscription, cancellationToken);
    }

    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            foreach (var s in _subscriptions)
            {
                s.Channel.Writer.TryComplete();
            }

            _subscriptions = [];
        }
    }

    private async IAsyncEnumerable<DeploymentEvent> ReadAsync(Subscription subscription, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            var reader = subscription.Channel.Reader;
            while (true)
            {
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    yield break;
                }

                if (!more)
                {
                    yield break;
                }

                while (reader.TryRead(out var e))
                {
                    yield return e;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _subscriptions = [.. _subscriptions.Where(s => !ReferenceEquals(s, subscription))];
            }
        }
    }

    private sealed record Subscription(string? DeploymentId, Channel<DeploymentEvent> Channel);
}

/// <summary>The optional fields of a <see cref="DeploymentEvent"/>, passed by value so publishing allocates nothing when nobody watches.</summary>
internal readonly record struct EventDetails(int? StepIndex = null, int? TotalSteps = null, string? StepKind = null, DeploymentState? PreviousState = null, int? Revision = null, Resilience.CircuitBreakerStatus? CircuitBreaker = null);
