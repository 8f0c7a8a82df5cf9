using System.Globalization;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Resilience;
using Bpi.Orchestration.Runtime;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>
/// <see cref="IWorkloadEvents"/> on the Docker Engine: one watch of the engine's events stream (containers carrying the
/// SDK's owner label), started on the first subscription and stopped (cancelled and awaited) when the last one is
/// disposed or the runtime is. <c>die</c> and <c>oom</c> become <see cref="WorkloadEventKind.Exited"/>,
/// <c>health_status: …</c> <see cref="WorkloadEventKind.HealthChanged"/> and <c>destroy</c>
/// <see cref="WorkloadEventKind.Removed"/>. When the stream ends or fails (the engine restarted) the watch reconnects
/// with capped exponential back-off and then reports <see cref="WorkloadEventKind.Reconnected"/>, so the orchestrator
/// compares everything it may have missed. Each reconnection first asks the engine for its version through the runtime's
/// circuit breaker (<see cref="Breakers"/>, <c>runtime:docker</c>): a failed attempt counts against it, and while it is
/// open the watch does not knock at all but waits for the end of the break — then reconnects at once (possibly as the
/// breaker's trial call), so an engine outage causes no reconnect storm and a recovered engine no extra wait.
/// </summary>
/// <remarks>
/// Events are not filtered by who caused them: the runtime's own stops and removals are reported too, which costs the
/// healer one comparison that finds nothing to do.
/// </remarks>
internal sealed partial class DockerWorkloadRuntime : IWorkloadEvents
{
    /// <summary>The first wait before reconnecting to a lost events stream; doubled on each failure.</summary>
    internal static readonly TimeSpan FirstReconnectDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between two reconnection attempts.</summary>
    internal static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(30);

    [ThreadStatic]
    private static DockerWorkloadRuntime? t_dispatching;

    private readonly Lock _watchGate = new();
    private readonly List<Action<WorkloadEvent>> _subscribers = [];
    private CancellationTokenSource? _watchStop;
    private Task _watch = Task.CompletedTask;

    /// <summary>The orchestrator's circuit breakers (set by <c>AddDocker</c>); <see langword="null"/> leaves reconnections unguarded.</summary>
    internal CircuitBreakers? Breakers { get; init; }

    /// <summary>The current (or last) events watch; completed when no watch runs. For tests and disposal.</summary>
    internal Task EventWatch
    {
        get
        {
            lock (_watchGate)
            {
                return _watch;
            }
        }
    }

    /// <inheritdoc />
    public IDisposable Subscribe(Action<WorkloadEvent> onEvent)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        ThrowIfDisposed();
        lock (_watchGate)
        {
            _subscribers.Add(onEvent);
            if (_watchStop is null)
            {
                var stop = new CancellationTokenSource();
                _watchStop = stop;
                _watch = Task.Run(() => WatchEventsAsync(stop.Token), CancellationToken.None);
            }
        }

        return new EventSubscription(this, onEvent);
    }

    /// <summary>Removes a subscriber; the last one out stops the watch and waits for it (unless called from a callback).</summary>
    private void Unsubscribe(Action<WorkloadEvent> onEvent)
    {
        Task stopped;
        lock (_watchGate)
        {
            if (!_subscribers.Remove(onEvent) || _subscribers.Count > 0)
            {
                return;
            }

            stopped = StopWatchLocked();
        }

        WaitForWatch(stopped);
    }

    /// <summary>Stops the watch (if any); the caller awaits the returned task. Called under <see cref="_watchGate"/>.</summary>
    private Task StopWatchLocked()
    {
        _subscribers.Clear();
        if (_watchStop is not { } stop)
        {
            return _watch;
        }

        _watchStop = null;
        stop.Cancel();
        return _watch.ContinueWith(_ => stop.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Stops the events watch for disposal and returns it to await.</summary>
    private Task StopEventWatch()
    {
        lock (_watchGate)
        {
            return StopWatchLocked();
        }
    }

    /// <summary>Waits for a stopped watch synchronously, except on the watch's own thread (a callback that unsubscribes).</summary>
    private void WaitForWatch(Task stopped)
    {
        if (!ReferenceEquals(t_dispatching, this))
        {
            // The watch never faults (it logs and swallows), and cancellation ends its stream promptly.
            stopped.GetAwaiter().GetResult();
        }
    }

    private async Task WatchEventsAsync(CancellationToken cancellationToken)
    {
        var filter = new Dictionary<string, string?>(StringComparer.Ordinal) { [WorkloadLabels.Owner] = null };
        var delay = FirstReconnectDelay;
        var lost = false;
        DateTimeOffset? since = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            string reason;
            try
            {
                if (lost)
                {
                    // Only report the engine back when it answers; the stream then replays what happened since the loss.
                    await ProbeEngineAsync(cancellationToken).ConfigureAwait(false);
                    lost = false;
                    Log.EventStreamReconnected(_logger, _client.Endpoint.ToString());
                    Dispatch(new WorkloadEvent("", "", WorkloadEventKind.Reconnected));
                }

                await foreach (var message in _client.StreamEventsAsync(filter, since, until: null, type: "container", cancellationToken).ConfigureAwait(false))
                {
                    delay = FirstReconnectDelay;
                    if (Map(message) is { } change)
                    {
                        Dispatch(change);
                    }
                }

                reason = "the engine closed it";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (CircuitOpenException open)
            {
                // The engine was not asked: wait for the end of the break instead of the back-off, and do not grow it.
                var wait = open.RetryAfter is { } retryAfter && retryAfter > TimeSpan.Zero ? retryAfter : delay;
                Log.EventStreamWaitsForCircuit(_logger, _client.Endpoint.ToString(), open.Target, wait);
                if (!await DelayAsync(wait, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                reason = exception.Message;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            // Replay from a little before the loss (engine and SDK share a clock on one host; the slack covers rounding to seconds).
            if (!lost)
            {
                since = _timeProvider.GetUtcNow().AddSeconds(-2);
            }

            lost = true;
            Log.EventStreamLost(_logger, _client.Endpoint.ToString(), reason, delay);
            if (!await DelayAsync(delay, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxReconnectDelay.Ticks));
        }
    }

    /// <summary>Asks the engine whether it answers, through the runtime's circuit breaker when there is one.</summary>
    private async ValueTask ProbeEngineAsync(CancellationToken cancellationToken)
    {
        if (Breakers is { } breakers)
        {
            await breakers.ExecuteAsync("runtime:" + Name, static async (client, ct) => { _ = await client.GetVersionAsync(ct).ConfigureAwait(false); }, _client, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            _ = await _client.GetVersionAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits on the runtime's clock; <see langword="false"/> when the watch was stopped meanwhile.</summary>
    private async ValueTask<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The workload event a container event means, or <see langword="null"/> for events the healer does not need.</summary>
    internal static WorkloadEvent? Map(Message message)
    {
        if (!string.Equals(message.Type, "container", StringComparison.Ordinal) || message.Actor?.Attributes is not { } attributes)
        {
            return null;
        }

        var action = message.Action ?? "";
        WorkloadEventKind kind;
        int? exitCode = null;
        if (action is "die" or "oom")
        {
            kind = WorkloadEventKind.Exited;
            if (attributes.TryGetValue("exitCode", out var code) && int.TryParse(code, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed))
            {
                exitCode = parsed;
            }
        }
        else if (action.StartsWith("health_status", StringComparison.Ordinal))
        {
            kind = WorkloadEventKind.HealthChanged;
        }
        else if (action == "destroy")
        {
            kind = WorkloadEventKind.Removed;
        }
        else
        {
            return null;
        }

        if (!attributes.TryGetValue(WorkloadLabels.Deployment, out var deploymentId) || string.IsNullOrEmpty(deploymentId))
        {
            return null;
        }

        // The instance id is the container's name (DockerInstanceMapper), which the runtime also writes as a label.
        var instanceId = attributes.TryGetValue(WorkloadLabels.Instance, out var labelled) && !string.IsNullOrEmpty(labelled)
            ? labelled
            : attributes.TryGetValue("name", out var name) && !string.IsNullOrEmpty(name) ? name : message.Actor.ID;
        return new WorkloadEvent(deploymentId, instanceId, kind, exitCode);
    }

    private void Dispatch(WorkloadEvent change)
    {
        Action<WorkloadEvent>[] subscribers;
        lock (_watchGate)
        {
            subscribers = [.. _subscribers];
        }

        var previous = t_dispatching;
        t_dispatching = this;
        try
        {
            foreach (var subscriber in subscribers)
            {
                try
                {
                    subscriber(change);
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    Log.EventSubscriberFailed(_logger, exception);
                }
            }
        }
        finally
        {
            t_dispatching = previous;
        }
    }

    private sealed class EventSubscription(DockerWorkloadRuntime runtime, Action<WorkloadEvent> onEvent) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                runtime.Unsubscribe(onEvent);
            }
        }
    }
}
