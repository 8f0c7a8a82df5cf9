using System.Collections.Concurrent;
using Bpi.Orchestration.Telemetry;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;

namespace Bpi.Orchestration.Resilience;

/// <summary>
/// One Polly circuit breaker per target the orchestrator calls (<c>runtime:&lt;name&gt;</c>, <c>router:&lt;name&gt;</c>,
/// <c>metrics:&lt;provider&gt;</c>), on the orchestrator's <see cref="TimeProvider"/>. The orchestrator guards its runtime
/// and router with it; the Strategies package guards metric providers. Registered as a singleton by
/// <c>AddOrchestration</c>; configured by <see cref="OrchestrationOptions.CircuitBreaking"/>.
/// </summary>
/// <remarks>
/// Only <see cref="FaultClass.Transient"/> and <see cref="FaultClass.Throttled"/> failures (see <see cref="FaultClassifier"/>)
/// count against a target. While a circuit is open, calls fail at once with <see cref="CircuitOpenException"/>.
/// </remarks>
public sealed class CircuitBreakers
{
    private readonly ConcurrentDictionary<string, Breaker> _breakers = new(StringComparer.Ordinal);
    private readonly CircuitBreakingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    internal CircuitBreakers(CircuitBreakingOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Raised after a target's circuit opened, half-opened or closed, with the target's status after the change. The
    /// orchestrator publishes it as <see cref="DeploymentEventKind.CircuitBreakerChanged"/> and counts it; a handler must
    /// not block (it runs on the call that changed the state).
    /// </summary>
    internal event Action<CircuitBreakerStatus>? StateChanged;

    /// <summary>Whether calls are guarded (<see cref="CircuitBreakingOptions.Enabled"/>).</summary>
    public bool Enabled => _options.Enabled;

    /// <summary>Runs a call to <paramref name="target"/> through its circuit breaker.</summary>
    /// <typeparam name="TState">The state handed to the call.</typeparam>
    /// <typeparam name="TResult">The call's result.</typeparam>
    /// <param name="target">The guarded target, for example <c>runtime:docker</c>.</param>
    /// <param name="call">The call.</param>
    /// <param name="state">The state handed to the call.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The call's result.</returns>
    /// <exception cref="CircuitOpenException">The target's circuit is open; the call was not made.</exception>
    public ValueTask<TResult> ExecuteAsync<TState, TResult>(string target, Func<TState, CancellationToken, ValueTask<TResult>> call, TState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(call);
        return _options.Enabled ? GuardedAsync(Get(target), call, state, cancellationToken) : call(state, cancellationToken);
    }

    /// <summary>Runs a call to <paramref name="target"/> through its circuit breaker.</summary>
    /// <typeparam name="TState">The state handed to the call.</typeparam>
    /// <param name="target">The guarded target, for example <c>runtime:docker</c>.</param>
    /// <param name="call">The call.</param>
    /// <param name="state">The state handed to the call.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes with the call.</returns>
    /// <exception cref="CircuitOpenException">The target's circuit is open; the call was not made.</exception>
    public ValueTask ExecuteAsync<TState>(string target, Func<TState, CancellationToken, ValueTask> call, TState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(call);
        return _options.Enabled ? GuardedAsync(Get(target), call, state, cancellationToken) : call(state, cancellationToken);
    }

    /// <summary>The state of every target called so far, ordered by target.</summary>
    /// <returns>One entry per target.</returns>
    public IReadOnlyList<CircuitBreakerStatus> GetStatus()
        => [.. _breakers.Values.Select(b => b.Status()).OrderBy(s => s.Target, StringComparer.Ordinal)];

    /// <summary>Whether a failure counts against a target: the target could not serve (transient or throttled), not a wrong request.</summary>
    internal static bool IsBreakerFault(Exception exception)
        => exception is not CircuitOpenException && FaultClassifier.Classify(exception) is FaultClass.Transient or FaultClass.Throttled;

    private static async ValueTask<TResult> GuardedAsync<TState, TResult>(Breaker breaker, Func<TState, CancellationToken, ValueTask<TResult>> call, TState state, CancellationToken cancellationToken)
    {
        try
        {
            return await breaker.Pipeline.ExecuteAsync(static (s, ct) => s.call(s.state, ct), (call, state), cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            throw breaker.Refused(ex);
        }
    }

    private static async ValueTask GuardedAsync<TState>(Breaker breaker, Func<TState, CancellationToken, ValueTask> call, TState state, CancellationToken cancellationToken)
    {
        try
        {
            await breaker.Pipeline.ExecuteAsync(static (s, ct) => s.call(s.state, ct), (call, state), cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            throw breaker.Refused(ex);
        }
    }

    private Breaker Get(string target) => _breakers.TryGetValue(target, out var breaker) ? breaker : _breakers.GetOrAdd(target, static (t, self) => new Breaker(t, self), this);

    /// <summary>One target's pipeline and what it last went through.</summary>
    private sealed class Breaker
    {
        private readonly CircuitBreakerStateProvider _state = new();
        private readonly CircuitBreakers _owner;
        private readonly Lock _gate = new();
        private string? _lastFailure;
        private FaultClass? _lastFaultClass;
        private DateTimeOffset? _changedAt;
        private int _timesOpened;

        public Breaker(string target, CircuitBreakers owner)
        {
            Target = target;
            _owner = owner;
            var options = owner._options;
            Pipeline = new ResiliencePipelineBuilder { Name = "bpi-orchestration-circuit-breaker", InstanceName = target, TimeProvider = owner._time }
                .AddCircuitBreaker(new CircuitBreakerStrategyOptions
                {
                    Name = "unavailable-target",
                    FailureRatio = options.FailureRatio,
                    MinimumThroughput = options.MinimumThroughput,
                    SamplingDuration = options.SamplingDuration,
                    BreakDuration = options.BreakDuration,
                    StateProvider = _state,
                    ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && Counts(ex)),
                    OnOpened = args =>
                    {
                        lock (_gate)
                        {
                            _timesOpened++;
                        }

                        Log.CircuitOpened(owner._logger, args.Outcome.Exception, Target, args.BreakDuration.TotalSeconds);
                        Changed(CircuitBreakerState.Open);
                        return ValueTask.CompletedTask;
                    },
                    OnHalfOpened = _ =>
                    {
                        Log.CircuitHalfOpened(owner._logger, Target);
                        Changed(CircuitBreakerState.HalfOpen);
                        return ValueTask.CompletedTask;
                    },
                    OnClosed = _ =>
                    {
                        Log.CircuitClosed(owner._logger, Target);
                        Changed(CircuitBreakerState.Closed);
                        return ValueTask.CompletedTask;
                    },
                })
                .Build();
        }

        public string Target { get; }

        public ResiliencePipeline Pipeline { get; }

        public CircuitBreakerStatus Status() => Status(_state.CircuitState switch
        {
            CircuitState.Open or CircuitState.Isolated => CircuitBreakerState.Open,
            CircuitState.HalfOpen => CircuitBreakerState.HalfOpen,
            _ => CircuitBreakerState.Closed,
        });

        public CircuitOpenException Refused(BrokenCircuitException exception)
        {
            string? last;
            lock (_gate)
            {
                last = _lastFailure;
            }

            return new CircuitOpenException(Target, exception.RetryAfter, last, exception);
        }

        private CircuitBreakerStatus Status(CircuitBreakerState state)
        {
            lock (_gate)
            {
                return new CircuitBreakerStatus(Target, state, _changedAt, _lastFailure, _timesOpened) { LastFaultClass = _lastFaultClass };
            }
        }

        private bool Counts(Exception exception)
        {
            var fault = exception is CircuitOpenException ? FaultClass.Unknown : FaultClassifier.Classify(exception);
            if (fault is not (FaultClass.Transient or FaultClass.Throttled))
            {
                return false;
            }

            lock (_gate)
            {
                _lastFailure = exception.Message;
                _lastFaultClass = fault;
            }

            return true;
        }

        /// <summary>Records when the circuit entered <paramref name="state"/> and tells <see cref="StateChanged"/>'s handlers.</summary>
        private void Changed(CircuitBreakerState state)
        {
            lock (_gate)
            {
                _changedAt = _owner._time.GetUtcNow();
            }

            if (_owner.StateChanged is { } handlers)
            {
                var status = Status(state);
                foreach (var handler in handlers.GetInvocationList().Cast<Action<CircuitBreakerStatus>>())
                {
                    try
                    {
                        handler(status);
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        // A listener's failure must not fail the call that changed the circuit.
                        Log.CircuitListenerFailed(_owner._logger, ex, Target);
                    }
                }
            }
        }
    }
}
