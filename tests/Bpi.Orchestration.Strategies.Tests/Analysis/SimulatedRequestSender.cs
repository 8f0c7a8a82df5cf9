using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Testing;

namespace Bpi.Orchestration.Strategies.Tests.Analysis;

/// <summary>Answers requests with the in-memory runtime's simulated behaviour (error rate, latency with ±50% jitter), from a seeded random.</summary>
internal sealed class SimulatedRequestSender(InMemoryWorkloadRuntime runtime) : IInstanceRequestSender
{
    private readonly Random _random = new(7);
    private readonly Lock _gate = new();

    public int Sent { get; private set; }

    public ValueTask<RequestSample> SendAsync(WorkloadInstance instance, string path, CancellationToken cancellationToken = default)
    {
        var behavior = runtime.GetBehavior(instance.InstanceId) ?? (1.0, TimeSpan.Zero);
        lock (_gate)
        {
            Sent++;
            var success = _random.NextDouble() >= behavior.ErrorRate;
            var latency = behavior.Latency * (0.5 + _random.NextDouble());
            return ValueTask.FromResult(new RequestSample(success, latency));
        }
    }
}
