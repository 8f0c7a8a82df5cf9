using System.Collections.Concurrent;
using Bpi.Orchestration.Telemetry;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Resilience;

/// <summary>
/// One circuit breaker per target the orchestrator calls (<c>runtime:&lt;name&gt;</c>, <c>router:&lt;name&gt;</c>,
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
    private readonly ConcurrentDictionary<string, Circuit> _breakers = new(StringComparer.Ordinal);
    private readonly CircuitBreakingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _systemClock;

    internal CircuitBreakers(CircuitBreakingOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _systemClock = ReferenceEquals(time, TimeProvider.System);
    }

    /// <summary>
    /// Ticks for the sampling windows only (compared with each other, never with a time of day). On the system clock the
    /// coarse monotonic tick count serves: a success costs no wall-clock read, and a window of a tenth of the sampling
    /// duration is never shorter than its few milliseconds of granularity. Any other provider (a test's manual clock) is
    /// read as it is, so windows follow it.
    /// </summary>
    private long WindowTicks() => _systemClock ? Environment.TickCount64 * TimeSpan.TicksPerMillisecond : _time.GetUtcNow().UtcTicks;

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
        return _options.Enabled ? Get(target).ExecuteAsync(call, state, cancellationToken) : call(state, cancellationToken);
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
        return _options.Enabled ? Get(target).ExecuteAsync(call, state, cancellationToken) : call(state, cancellationToken);
    }

    /// <summary>The state of every target called so far, ordered by target.</summary>
    /// <returns>One entry per target.</returns>
    public IReadOnlyList<CircuitBreakerStatus> GetStatus()
        => [.. _breakers.Values.Select(b => b.Status()).OrderBy(s => s.Target, StringComparer.Ordinal)];

    /// <summary>Whether a failure counts against a target: the target could not serve (transient or throttled), not a wrong request.</summary>
    internal static bool IsBreakerFault(Exception exception)
        => exception is not CircuitOpenException && FaultClassifier.Classify(exception) is FaultClass.Transient or FaultClass.Throttled;

    /// <summary>
    /// Raised after a target's circuit opened, half-opened or closed, with the target's status after the change. The
    /// orchestrator publishes it as <see cref="DeploymentEventKind.CircuitBreakerChanged"/> and counts it; a handler must
    /// not block (it runs on the call that changed the state), and a handler that throws is logged, not propagated.
    /// </summary>
    internal event Action<CircuitBreakerStatus>? StateChanged;

    private void Changed(Circuit circuit, CircuitBreakerState state, Exception? failure)
    {
        switch (state)
        {
            case CircuitBreakerState.Open:
                Log.CircuitOpened(_logger, failure, circuit.Target, _options.BreakDuration.TotalSeconds);
                break;
            case CircuitBreakerState.HalfOpen:
                Log.CircuitHalfOpened(_logger, circuit.Target);
                break;
            default:
                Log.CircuitClosed(_logger, circuit.Target);
                break;
        }

        if (StateChanged is not { } handlers)
        {
            return;
        }

        var status = circuit.Status();
        foreach (var handler in handlers.GetInvocationList().Cast<Action<CircuitBreakerStatus>>())
        {
            try
            {
                handler(status);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A listener's failure must not fail the call that changed the circuit.
                Log.CircuitListenerFailed(_logger, ex, circuit.Target);
            }
        }
    }

    /// <summary>
    /// The circuit of <paramref name="target"/>, for a guard that only ever calls that one target: it keeps the circuit
    /// and runs its calls through it directly, with no lookup of the target per call (made on the guard's first call, so
    /// <see cref="GetStatus"/> still lists only targets called so far).
    /// </summary>
    internal Circuit For(string target) => Get(target);

    private Circuit Get(string target) => _breakers.TryGetValue(target, out var circuit) ? circuit : _breakers.GetOrAdd(target, static (t, self) => new Circuit(t, self), this);

    /// <summary>
    /// One target's circuit: closed → open when, within the sampling duration, at least the minimum throughput of calls
    /// were made and the failure ratio was reached; open → half-open when the break has passed and a call arrives (that
    /// call is the one trial); half-open → closed when the trial succeeds, → open again when it fails.
    /// </summary>
    /// <remarks>
    /// The state machine and the rolling health window follow Polly's advanced circuit breaker (the same options and
    /// outcomes), written here because every runtime and router call of the orchestrator passes through it: a call
    /// through a Polly pipeline cost ~200 ns, this one ~10–20 ns (the lock-free check of a closed circuit and one
    /// atomic increment to count a success; failures and window turnovers take the lock). A failure that is not a breaker
    /// fault (see <see cref="IsBreakerFault"/>) counts as a success: the target answered.
    /// </remarks>
    internal sealed class Circuit
    {
        private const int Windows = 10;

        private readonly CircuitBreakers _owner;
        private readonly Lock _gate = new();
        private readonly long[] _windowStart = new long[Windows];
        private readonly int[] _successes = new int[Windows];
        private readonly int[] _failures = new int[Windows];
        private readonly long _windowTicks;
        private readonly long _samplingTicks;
        private int _current = -1;
        private volatile CircuitBreakerState _state;
        private DateTimeOffset _openUntil;
        private bool _trialInFlight;
        private string? _lastFailure;
        private FaultClass? _lastFaultClass;
        private DateTimeOffset? _changedAt;
        private int _timesOpened;

        public Circuit(string target, CircuitBreakers owner)
        {
            Target = target;
            _owner = owner;
            _samplingTicks = owner._options.SamplingDuration.Ticks;
            _windowTicks = Math.Max(1, _samplingTicks / Windows);
        }

        public string Target { get; }

        public ValueTask<TResult> ExecuteAsync<TState, TResult>(Func<TState, CancellationToken, ValueTask<TResult>> call, TState state, CancellationToken cancellationToken)
        {
            var trial = Enter();
            ValueTask<TResult> pending;
            try
            {
                pending = call(state, cancellationToken);
            }
            catch (Exception ex)
            {
                Failed(ex, trial);
                throw;
            }

            if (pending.IsCompletedSuccessfully)
            {
                Succeeded(trial);
                return pending;
            }

            return AwaitAsync(pending, trial);
        }

        public ValueTask ExecuteAsync<TState>(Func<TState, CancellationToken, ValueTask> call, TState state, CancellationToken cancellationToken)
        {
            var trial = Enter();
            ValueTask pending;
            try
            {
                pending = call(state, cancellationToken);
            }
            catch (Exception ex)
            {
                Failed(ex, trial);
                throw;
            }

            if (pending.IsCompletedSuccessfully)
            {
                Succeeded(trial);
                return pending;
            }

            return AwaitAsync(pending, trial);
        }

        public CircuitBreakerStatus Status()
        {
            lock (_gate)
            {
                return new CircuitBreakerStatus(Target, _state, _changedAt, _lastFailure, _timesOpened) { LastFaultClass = _lastFaultClass };
            }
        }

        private async ValueTask<TResult> AwaitAsync<TResult>(ValueTask<TResult> pending, bool trial)
        {
            TResult result;
            try
            {
                result = await pending.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Failed(ex, trial);
                throw;
            }

            Succeeded(trial);
            return result;
        }

        private async ValueTask AwaitAsync(ValueTask pending, bool trial)
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Failed(ex, trial);
                throw;
            }

            Succeeded(trial);
        }

        /// <summary>Lets a call through (returning whether it is the half-open trial) or refuses it.</summary>
        private bool Enter()
        {
            if (_state == CircuitBreakerState.Closed)
            {
                return false;
            }

            var halfOpened = false;
            CircuitOpenException refused;
            lock (_gate)
            {
                var now = _owner._time.GetUtcNow();
                switch (_state)
                {
                    case CircuitBreakerState.Closed:
                        return false;
                    case CircuitBreakerState.Open when now >= _openUntil:
                        _state = CircuitBreakerState.HalfOpen;
                        _changedAt = now;
                        _trialInFlight = true;
                        _openUntil = now + _owner._options.BreakDuration;
                        halfOpened = true;
                        refused = null!;
                        break;
                    case CircuitBreakerState.HalfOpen when !_trialInFlight || now >= _openUntil:
                        // No trial under way (the last was cancelled), or it has not ended within a break: try again.
                        _trialInFlight = true;
                        _openUntil = now + _owner._options.BreakDuration;
                        return true;
                    case CircuitBreakerState.Open:
                        refused = new CircuitOpenException(Target, _openUntil - now, _lastFailure, null);
                        break;
                    default:
                        refused = new CircuitOpenException(Target, null, _lastFailure, null);
                        break;
                }
            }

            if (halfOpened)
            {
                _owner.Changed(this, CircuitBreakerState.HalfOpen, null);
                return true;
            }

            throw refused;
        }

        private void Succeeded(bool trial)
        {
            if (trial)
            {
                Close();
                return;
            }

            if (_state != CircuitBreakerState.Closed)
            {
                return;
            }

            // Almost every call: the circuit is closed and its current window still open, so the success is counted with
            // one atomic increment and no lock. A window turned over at the same moment (under the lock) may gain or lose
            // this one success; the failure ratio does not notice.
            var nowTicks = _owner.WindowTicks();
            var current = Volatile.Read(ref _current);
            if (current >= 0 && nowTicks - Volatile.Read(ref _windowStart[current]) < _windowTicks)
            {
                Interlocked.Increment(ref _successes[current]);
                return;
            }

            lock (_gate)
            {
                if (_state == CircuitBreakerState.Closed)
                {
                    Window(nowTicks, out var index);
                    Interlocked.Increment(ref _successes[index]);
                }
            }
        }

        private void Failed(Exception exception, bool trial)
        {
            var fault = exception is CircuitOpenException ? FaultClass.Unknown : FaultClassifier.Classify(exception);
            if (fault is not (FaultClass.Transient or FaultClass.Throttled))
            {
                if (trial && exception is OperationCanceledException)
                {
                    // A cancelled trial proves nothing either way: the next call is the trial.
                    lock (_gate)
                    {
                        _trialInFlight = false;
                    }
                }
                else
                {
                    Succeeded(trial);
                }

                return;
            }

            var opened = false;
            lock (_gate)
            {
                _lastFailure = exception.Message;
                _lastFaultClass = fault;
                var now = _owner._time.GetUtcNow();
                if (trial)
                {
                    opened = Open(now);
                }
                else if (_state == CircuitBreakerState.Closed)
                {
                    var nowTicks = _owner.WindowTicks();
                    Window(nowTicks, out var index);
                    _failures[index]++;
                    int successes = 0, failures = 0;
                    for (var i = 0; i < Windows; i++)
                    {
                        if (_windowStart[i] != 0 && nowTicks - _windowStart[i] < _samplingTicks)
                        {
                            successes += _successes[i];
                            failures += _failures[i];
                        }
                    }

                    var total = successes + failures;
                    if (total >= _owner._options.MinimumThroughput && failures >= _owner._options.FailureRatio * total)
                    {
                        opened = Open(now);
                    }
                }
            }

            if (opened)
            {
                _owner.Changed(this, CircuitBreakerState.Open, exception);
            }
        }

        /// <summary>Opens the circuit (under the gate).</summary>
        private bool Open(DateTimeOffset now)
        {
            _state = CircuitBreakerState.Open;
            _openUntil = now + _owner._options.BreakDuration;
            _trialInFlight = false;
            _changedAt = now;
            _timesOpened++;
            Array.Clear(_windowStart);
            _current = -1;
            return true;
        }

        private void Close()
        {
            lock (_gate)
            {
                _state = CircuitBreakerState.Closed;
                _trialInFlight = false;
                _changedAt = _owner._time.GetUtcNow();
                Array.Clear(_windowStart);
                _current = -1;
            }

            _owner.Changed(this, CircuitBreakerState.Closed, null);
        }

        /// <summary>The window counting outcomes at <paramref name="nowTicks"/> (under the gate): a new one when the current one is full.</summary>
        private void Window(long nowTicks, out int index)
        {
            if (_current < 0 || nowTicks - _windowStart[_current] >= _windowTicks)
            {
                // The oldest window is at least the sampling duration old when all ten are in use: reuse it.
                _current = (_current + 1) % Windows;
                _windowStart[_current] = nowTicks;
                _successes[_current] = 0;
                _failures[_current] = 0;
            }

            index = _current;
        }
    }
}
