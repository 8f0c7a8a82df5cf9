using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Analysis;

namespace Bpi.Orchestration.Testing;

/// <summary>
/// Answers the analysis' requests to in-memory instances as their simulated service would: each succeeds or fails
/// with the error rate and takes the latency set through <see cref="InMemoryFaults.RespondWith"/> (by default every
/// request succeeds at once), drawn from random numbers seeded with <see cref="InMemoryRuntimeOptions.Seed"/>. An instance the runtime does not hold
/// is not reached. <c>AddInMemoryRuntime</c> makes it the default sender in place of HTTP, which cannot reach in-memory
/// instances (a sender the host chose still wins).
/// </summary>
internal sealed class InMemoryRequestSender(InMemoryWorkloadRuntime runtime, int seed) : IInstanceRequestSender
{
    private readonly Random _random = new(seed);

    public ValueTask<RequestSample> SendAsync(WorkloadInstance instance, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        cancellationToken.ThrowIfCancellationRequested();
        if (runtime.GetBehavior(instance.InstanceId) is not { } behavior)
        {
            return ValueTask.FromResult(RequestSample.NotReached(TimeSpan.Zero));
        }

        double draw;
        lock (_random)
        {
            draw = _random.NextDouble();
        }

        return ValueTask.FromResult(new RequestSample(draw >= behavior.ErrorRate, behavior.Latency));
    }
}
