using System.Diagnostics.Metrics;
using Bpi.Orchestration.Resilience;
using Bpi.Orchestration.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Resilience;

/// <summary>A breaker's state changes are visible: an orchestrator-wide event, a state gauge and a transition counter.</summary>
public sealed class CircuitBreakerVisibilityTests
{
    private const string Runtime = "runtime:in-memory";

    [Fact]
    public async Task Opening_half_opening_and_closing_are_published_as_events_counted_and_gauged()
    {
        await using var host = new TestHost(
            o =>
            {
                o.CircuitBreaking.MinimumThroughput = 4;
                o.CircuitBreaking.BreakDuration = TimeSpan.FromMinutes(10);
            },
            extra: b => b.Services.AddMetrics());
        using var meter = new BreakerMeter(host.Services.GetRequiredService<IMeterFactory>());
        var events = host.Vm.WatchAsync(cancellationToken: TestHost.Timeout()).GetAsyncEnumerator();
        var id = await host.Vm.DeployAsync(Specs.Web(2));
        await host.SettleAsync(id);
        Assert.Equal(0, meter.Gauge(Runtime));

        host.Clock.Advance(TimeSpan.FromSeconds(31));
        host.Runtime.Faults.FailNextCalls(1_000_000);
        for (var read = 0; read < 10; read++)
        {
            await host.Vm.GetStatusAsync(id);
        }

        var opened = await NextBreakerEventAsync(events);
        Assert.Equal("", opened.DeploymentId);
        Assert.Equal(Runtime, opened.CircuitBreaker!.Target);
        Assert.Equal(CircuitBreakerState.Open, opened.CircuitBreaker.State);
        Assert.Equal(FaultClass.Transient, opened.CircuitBreaker.LastFaultClass);
        Assert.Equal(host.Clock.GetUtcNow(), opened.CircuitBreaker.ChangedAt);
        Assert.Contains("The circuit breaker of runtime:in-memory opened", opened.Message, StringComparison.Ordinal);
        Assert.Equal(2, meter.Gauge(Runtime));
        Assert.Equal(0, meter.Gauge("router:in-memory"));
        Assert.Equal(1, meter.Transitions(Runtime, "open"));

        host.Runtime.Faults.Clear();
        host.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        await host.Vm.GetStatusAsync(id);

        var halfOpen = await NextBreakerEventAsync(events);
        var closed = await NextBreakerEventAsync(events);
        Assert.Equal((Runtime, CircuitBreakerState.HalfOpen), (halfOpen.CircuitBreaker!.Target, halfOpen.CircuitBreaker.State));
        Assert.Equal((Runtime, CircuitBreakerState.Closed), (closed.CircuitBreaker!.Target, closed.CircuitBreaker.State));
        Assert.Contains("closed: calls flow again", closed.Message, StringComparison.Ordinal);
        Assert.Equal(0, meter.Gauge(Runtime));
        Assert.Equal(1, meter.Transitions(Runtime, "half_open"));
        Assert.Equal(1, meter.Transitions(Runtime, "closed"));
        await events.DisposeAsync();
    }

    [Fact]
    public async Task A_failing_listener_does_not_fail_the_call_that_changed_the_circuit()
    {
        var breakers = new CircuitBreakers(
            new CircuitBreakingOptions { MinimumThroughput = 2 },
            new Bpi.Orchestration.Testing.ManualTimeProvider(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var seen = new List<CircuitBreakerState>();
        breakers.StateChanged += _ => throw new InvalidOperationException("listener bug");
        breakers.StateChanged += s => seen.Add(s.State);
        var unreachable = new OrchestrationException(OrchestrationErrorKind.RuntimeUnavailable, "engine unreachable");

        for (var i = 0; i < 2; i++)
        {
            var thrown = await Assert.ThrowsAsync<OrchestrationException>(async () => await breakers.ExecuteAsync("runtime:x", static (e, _) => ValueTask.FromException<int>(e), unreachable));
            Assert.Same(unreachable, thrown);
        }

        Assert.Equal([CircuitBreakerState.Open], seen);
    }

    private static async Task<DeploymentEvent> NextBreakerEventAsync(IAsyncEnumerator<DeploymentEvent> events)
    {
        while (await events.MoveNextAsync())
        {
            if (events.Current.Kind == DeploymentEventKind.CircuitBreakerChanged)
            {
                return events.Current;
            }
        }

        throw new InvalidOperationException("The event stream ended before a circuit breaker changed.");
    }

    /// <summary>Listens to the breaker instruments of one container's meter (other tests' orchestrators run in parallel).</summary>
    private sealed class BreakerMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Lock _gate = new();
        private readonly Dictionary<string, int> _gauge = [];
        private readonly Dictionary<(string Target, string State), long> _transitions = [];

        public BreakerMeter(IMeterFactory scope)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == scope && instrument.Name is OrchestrationTelemetryNames.CircuitBreakerState or OrchestrationTelemetryNames.CircuitBreakerTransitions)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((_, value, tags, _) =>
            {
                lock (_gate)
                {
                    _gauge[Tag(tags, "target")] = value;
                }
            });
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                lock (_gate)
                {
                    var key = (Tag(tags, "target"), Tag(tags, "state"));
                    _transitions[key] = _transitions.GetValueOrDefault(key) + value;
                }
            });
            _listener.Start();
        }

        public int? Gauge(string target)
        {
            lock (_gate)
            {
                _gauge.Clear();
            }

            _listener.RecordObservableInstruments();
            lock (_gate)
            {
                return _gauge.TryGetValue(target, out var value) ? value : null;
            }
        }

        public long Transitions(string target, string state)
        {
            lock (_gate)
            {
                return _transitions.GetValueOrDefault((target, state));
            }
        }

        public void Dispose() => _listener.Dispose();

        private static string Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == key)
                {
                    return tag.Value as string ?? "";
                }
            }

            return "";
        }
    }
}
