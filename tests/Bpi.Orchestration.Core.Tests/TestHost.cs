using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Tests;

/// <summary>An orchestrator on the in-memory runtime and router with a manual clock, for one test.</summary>
internal sealed class TestHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    public TestHost(Action<OrchestrationOptions>? options = null, Action<InMemoryRuntimeOptions>? runtime = null, bool router = true, Action<IOrchestrationBuilder>? extra = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddOrchestration(o =>
        {
            o.VmId = "vm-test";
            options?.Invoke(o);
        })
        .UseTimeProvider(Clock)
        .AddInMemoryRuntime(runtime);
        if (router)
        {
            builder.AddInMemoryTrafficRouter();
        }

        builder.UseAuditSink(Audit);
        extra?.Invoke(builder);
        _provider = services.BuildServiceProvider();
    }

    public ManualTimeProvider Clock { get; } = new();

    public InMemoryAuditSink Audit { get; } = new(100_000);

    public IServiceProvider Services => _provider;

    public IOrchestrationVm Vm => _provider.GetRequiredService<IOrchestrationVm>();

    public InMemoryWorkloadRuntime Runtime => _provider.GetRequiredService<InMemoryWorkloadRuntime>();

    public InMemoryTrafficRouter Router => _provider.GetRequiredService<InMemoryTrafficRouter>();

    internal ResourceLedger Ledger => ((OrchestrationVm)Vm).Ledger;

    internal RolloutQueue Queue => ((OrchestrationVm)Vm).QueueForTests;

    /// <summary>Advances the clock a second at a time (whenever something waits on it) until <paramref name="condition"/> completes.</summary>
    public Task<T> DriveAsync<T>(Task<T> condition, TimeSpan? step = null) => Clock.RunUntilAsync(condition, step, cancellationToken: Timeout());

    public Task<DeploymentStatus> SettleAsync(string id) => DriveAsync(Vm.WaitUntilSettledAsync(id, Timeout()));

    public static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    public async ValueTask DisposeAsync() => await _provider.DisposeAsync();
}

internal static class Specs
{
    public static DeploymentSpec Web(int replicas = 3, string image = "web:1", string name = "web", int port = 8080) => new()
    {
        Name = name,
        AppId = "shop",
        Environment = "staging",
        Components =
        [
            new ComponentSpec
            {
                Id = "web",
                Image = image,
                Replicas = replicas,
                Resources = new ComponentResources { CpuCores = 0.5, MemoryMb = 256 },
                Ports = [new PortSpec { ContainerPort = port }],
            },
        ],
    };
}
