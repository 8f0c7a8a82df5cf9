using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Bpi.Orchestration.Strategies.Tests;

/// <summary>An orchestrator with the Strategies package on the in-memory runtime (recorded) and router, with a manual clock.</summary>
internal sealed class TestHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    public TestHost(bool router = true, Action<InMemoryRuntimeOptions>? runtime = null, Action<IOrchestrationBuilder>? extra = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddOrchestration(o => o.VmId = "vm-test")
            .UseTimeProvider(Clock)
            .AddInMemoryRuntime(runtime);
        services.TryAddSingleton(sp => new RecordingRuntime(sp.GetRequiredService<InMemoryWorkloadRuntime>()));
        services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp => sp.GetRequiredService<RecordingRuntime>()));
        if (router)
        {
            builder.AddInMemoryTrafficRouter();
        }

        builder.UseAuditSink(Audit);
        builder.AddStrategies();
        extra?.Invoke(builder);
        _provider = services.BuildServiceProvider();
    }

    public ManualTimeProvider Clock { get; } = new();

    public InMemoryAuditSink Audit { get; } = new(100_000);

    public IServiceProvider Services => _provider;

    public IOrchestrationVm Vm => _provider.GetRequiredService<IOrchestrationVm>();

    public InMemoryWorkloadRuntime Runtime => _provider.GetRequiredService<InMemoryWorkloadRuntime>();

    public RecordingRuntime Recorder => _provider.GetRequiredService<RecordingRuntime>();

    public InMemoryTrafficRouter Router => _provider.GetRequiredService<InMemoryTrafficRouter>();

    public T Get<T>()
        where T : notnull => _provider.GetRequiredService<T>();

    /// <summary>Advances the clock (whenever something waits on it) until <paramref name="condition"/> completes.</summary>
    /// <remarks>With <paramref name="minTimers"/> above 1 the clock moves only once that many timers are armed, so background loops (health watches) re-arm between advances.</remarks>
    public Task<T> DriveAsync<T>(Task<T> condition, TimeSpan? step = null, int minTimers = 1) => Clock.RunUntilAsync(condition, step, minTimers, Timeout());

    public Task<DeploymentStatus> SettleAsync(string id, TimeSpan? step = null) => DriveAsync(Vm.WaitUntilSettledAsync(id, Timeout()), step);

    public Task<DeploymentStatus> WaitForStateAsync(string id, DeploymentState state) => Vm.WaitForStateAsync(id, s => s == state, Timeout());

    /// <summary>Waits until the deployment's current step description starts with <paramref name="prefix"/> (for example "7/12").</summary>
    public async Task WaitForStepAsync(string id, Func<DeploymentEvent, bool> match)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var e in Vm.WatchAsync(id, cts.Token))
        {
            if (match(e))
            {
                return;
            }
        }
    }

    public static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    public async ValueTask DisposeAsync() => await _provider.DisposeAsync();
}

/// <summary>Wraps the in-memory runtime and records the instances after every change, to check invariants over a whole rollout.</summary>
internal sealed class RecordingRuntime(InMemoryWorkloadRuntime inner) : IWorkloadRuntime, IWorkloadUtilization
{
    /// <summary>The in-memory runtime's utilisation, passed through: on a runtime that reports none (and does not scale itself), admission refuses CPU and memory targets.</summary>
    public ValueTask<IReadOnlyList<InstanceUtilization>> GetUtilizationAsync(string deploymentId, string componentId, int revision, CancellationToken cancellationToken = default)
        => inner.GetUtilizationAsync(deploymentId, componentId, revision, cancellationToken);

    private readonly Lock _gate = new();
    private readonly List<IReadOnlyList<WorkloadInstance>> _snapshots = [];

    public InMemoryWorkloadRuntime Inner => inner;

    public string Name => inner.Name;

    public bool Recording { get; set; }

    public int InstancesCreated { get; private set; }

    public IReadOnlyList<IReadOnlyList<WorkloadInstance>> Snapshots
    {
        get
        {
            lock (_gate)
            {
                return [.. _snapshots];
            }
        }
    }

    public async ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
    {
        var before = inner.Snapshot().Select(i => i.InstanceId).ToHashSet();
        await inner.EnsureReplicasAsync(revision, replicas, cancellationToken);
        var after = inner.Snapshot();
        lock (_gate)
        {
            InstancesCreated += after.Count(i => !before.Contains(i.InstanceId));
            if (Recording)
            {
                _snapshots.Add(after);
            }
        }
    }

    public ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
        => inner.GetInstancesAsync(deploymentId, componentId, revision, cancellationToken);

    public ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default) => inner.RemoveDeploymentAsync(deploymentId, cancellationToken);

    public ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default) => inner.ListOwnedAsync(cancellationToken);

    public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default) => inner.GetLogTailAsync(instanceId, lines, cancellationToken);
}
