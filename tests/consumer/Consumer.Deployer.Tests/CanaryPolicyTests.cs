using Bpi.Orchestration;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.Traffic;
using Consumer.Deployer;
using Microsoft.Extensions.DependencyInjection;

namespace Consumer.Deployer.Tests;

/// <summary>Pins the service's canary policy on the in-memory runtime with a manual clock, driven with the Testing README's loop.</summary>
public sealed class CanaryPolicyTests : IAsyncLifetime
{
    private static readonly TimeSpan AnalysisInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Pause = TimeSpan.FromMinutes(10);
    private readonly ManualTimeProvider _clock = new();
    private ServiceProvider _provider = null!;
    private IOrchestrationVm _vm = null!;
    private InMemoryWorkloadRuntime _runtime = null!;
    private InMemoryTrafficRouter _router = null!;

    public Task InitializeAsync()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "consumer-tests")
            .UseTimeProvider(_clock)
            .AddInMemoryRuntime(o => o.StartDelay = TimeSpan.FromSeconds(2))
            .AddInMemoryTrafficRouter()
            .AddStrategies();
        _provider = services.BuildServiceProvider();
        _vm = _provider.GetRequiredService<IOrchestrationVm>();
        _runtime = _provider.GetRequiredService<InMemoryWorkloadRuntime>();
        _router = _provider.GetRequiredService<InMemoryTrafficRouter>();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _provider.DisposeAsync();

    [Fact]
    public async Task A_healthy_canary_holds_in_its_pause_then_is_promoted()
    {
        var id = await DeployV1Async();

        await _vm.UpdateAsync(id, ServicePolicy.Canary("consumer-web:2", AnalysisInterval, Pause));
        var status = await DriveUntilSettledAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(2, status.StableRevision);
        Assert.Equal(new Dictionary<int, int> { [2] = 100 }, _router.GetWeights(TrafficRoute.ForComponent(id, "web")));
        Assert.Contains(_router.History, r => r.Backends.Any(b => b.Revision == 2 && b.Weight == 25));
    }

    [Fact]
    public async Task A_canary_failing_30_percent_of_requests_is_rolled_back_and_v1_keeps_all_traffic()
    {
        var id = await DeployV1Async();
        _runtime.Faults.RespondWith(r => r.Revision == 2, errorRate: 0.3, latency: TimeSpan.FromMilliseconds(20));

        await _vm.UpdateAsync(id, ServicePolicy.Canary("consumer-web:2", AnalysisInterval, Pause));
        var status = await DriveUntilSettledAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Equal(1, status.StableRevision);
        Assert.Contains("success-rate", status.Message ?? "", StringComparison.Ordinal);
        Assert.Equal(new Dictionary<int, int> { [1] = 100 }, _router.GetWeights(TrafficRoute.ForComponent(id, "web")));
        Assert.DoesNotContain(_runtime.Snapshot(), i => i.Revision == 2);
    }

    private async Task<string> DeployV1Async()
    {
        var id = await _vm.DeployAsync(ServicePolicy.Canary("consumer-web:1", AnalysisInterval, Pause));
        var status = await DriveUntilSettledAsync(id);
        Assert.Equal(DeploymentState.Running, status.State);
        return id;
    }

    /// <summary>The Testing README's drive loop: wait until something waits on the clock, advance it a second.</summary>
    private async Task<DeploymentStatus> DriveUntilSettledAsync(string id)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var settled = _vm.WaitUntilSettledAsync(id, guard.Token);
        for (var advanced = TimeSpan.Zero; !settled.IsCompleted && advanced < TimeSpan.FromHours(1); advanced += TimeSpan.FromSeconds(1))
        {
            await Task.WhenAny(settled, _clock.WaitForTimersAsync(1, guard.Token));
            if (settled.IsCompleted)
            {
                break;
            }

            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.True(settled.IsCompleted, $"not settled after an hour of clock time: {await _vm.GetStatusAsync(id)}");
        return await settled;
    }
}
