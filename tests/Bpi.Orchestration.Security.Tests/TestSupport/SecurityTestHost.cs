using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Security.Authorization;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Security.Tests.TestSupport;

/// <summary>An orchestrator on the in-memory runtime with a manual clock and the Security package.</summary>
internal sealed class SecurityTestHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    public SecurityTestHost(Action<SecurityOptions>? security = null, Action<AuthorizationOptions>? authorization = null, Action<IOrchestrationBuilder>? extra = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddOrchestration(o => o.VmId = "vm-sec")
            .UseTimeProvider(Clock)
            .AddInMemoryRuntime()
            .UseAuditSink(Audit)
            .AddSecurity(security)
            .ConfigureAuthorization(authorization ?? (o => o.PolicyTexts.Add("allow * * * *")));
        extra?.Invoke(builder);
        _provider = services.BuildServiceProvider();
    }

    public ManualTimeProvider Clock { get; } = new();

    public InMemoryAuditSink Audit { get; } = new(100_000);

    public IServiceProvider Services => _provider;

    public IOrchestrationVm Vm => _provider.GetRequiredService<IOrchestrationVm>();

    public T Get<T>() where T : notnull => _provider.GetRequiredService<T>();

    /// <summary>Advances the clock a second at a time (whenever something waits on it) until <paramref name="condition"/> completes.</summary>
    public Task<T> DriveAsync<T>(Task<T> condition) => Clock.RunUntilAsync(condition, cancellationToken: new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

    public async Task<DeploymentStatus> DeployAndSettleAsync(DeploymentSpec spec)
    {
        var id = await Vm.DeployAsync(spec);
        return await DriveAsync(Vm.WaitForStateAsync(id, s => s.IsSettled(), new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token));
    }

    public async ValueTask DisposeAsync() => await _provider.DisposeAsync();
}
