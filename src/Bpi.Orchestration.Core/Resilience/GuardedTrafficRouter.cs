using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Resilience;

/// <summary>The traffic router behind its circuit breaker (<c>router:&lt;name&gt;</c>).</summary>
internal sealed class GuardedTrafficRouter : ITrafficRouter
{
    private readonly CircuitBreakers _breakers;
    private readonly string _target;
    private CircuitBreakers.Circuit? _circuit;

    private GuardedTrafficRouter(ITrafficRouter inner, CircuitBreakers breakers)
    {
        Inner = inner;
        _breakers = breakers;
        _target = "router:" + inner.Name;
    }

    public ITrafficRouter Inner { get; }

    /// <summary>The target's circuit, looked up once (on the first call) rather than by name on every call.</summary>
    private CircuitBreakers.Circuit Circuit => _circuit ??= _breakers.For(_target);

    public string Name => Inner.Name;

    /// <summary>The router guarded by <paramref name="breakers"/>, or the router itself when circuit breaking is off.</summary>
    public static ITrafficRouter? Guard(ITrafficRouter? router, CircuitBreakers breakers)
        => router is null or GuardedTrafficRouter || !breakers.Enabled ? router : new GuardedTrafficRouter(router, breakers);

    public ValueTask<ServiceEndpoint?> ApplyAsync(TrafficRoute route, CancellationToken cancellationToken = default)
        => Circuit.ExecuteAsync(static (s, ct) => s.Inner.ApplyAsync(s.route, ct), (Inner, route), cancellationToken);

    public ValueTask RemoveAsync(string serviceId, CancellationToken cancellationToken = default)
        => Circuit.ExecuteAsync(static (s, ct) => s.Inner.RemoveAsync(s.serviceId, ct), (Inner, serviceId), cancellationToken);
}
