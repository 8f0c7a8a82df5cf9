using Bpi.Orchestration.EncCluster;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.EncCluster;

/// <summary>The EncCluster decorator answers for the runtime it wraps where the orchestrator asks what a runtime can do.</summary>
public sealed class EncClusterRuntimeCapabilityTests
{
    [Fact]
    public async Task The_decorator_scales_itself_exactly_when_the_runtime_it_wraps_does()
    {
        await using var manager = new EncClusterManager(new EncClusterOptions(), TimeProvider.System, null, null, () => "in-memory", null);
        using var inner = new InMemoryWorkloadRuntime();
        await using var plain = EncClusterWorkloadRuntime.Create(new ForwardingWorkloadRuntime(inner), manager);
        await using var selfScaling = EncClusterWorkloadRuntime.Create(new SelfScalingWorkloadRuntime(inner), manager);

        Assert.False(((IWorkloadSelfScaling)plain).ScalesItself);
        Assert.True(((IWorkloadSelfScaling)selfScaling).ScalesItself);
    }

    [Fact]
    public async Task The_decorator_reports_utilisation_exactly_when_the_runtime_it_wraps_does()
    {
        await using var manager = new EncClusterManager(new EncClusterOptions(), TimeProvider.System, null, null, () => "in-memory", null);
        using var inner = new InMemoryWorkloadRuntime();
        await using var plain = EncClusterWorkloadRuntime.Create(new ForwardingWorkloadRuntime(inner), manager);
        await using var measured = EncClusterWorkloadRuntime.Create(inner, manager);

        Assert.False(plain is IWorkloadUtilization);
        Assert.True(measured is IWorkloadUtilization);
    }

    [Fact]
    public async Task Admission_refuses_a_CPU_target_through_the_decorator_over_a_runtime_that_neither_reports_utilisation_nor_scales_itself()
    {
        await using var plain = Host(inner => new ForwardingWorkloadRuntime(inner));
        await using var measured = Host(inner => inner);
        var spec = Spec();

        var error = await Assert.ThrowsAsync<OrchestrationException>(() => plain.GetRequiredService<IOrchestrationVm>().DeployAsync(spec));
        var id = await measured.GetRequiredService<IOrchestrationVm>().DeployAsync(spec);

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        var refusal = Assert.Single(error.Errors);
        Assert.StartsWith("components[0] (web).autoscaling: the in-memory runtime neither reports utilisation (IWorkloadUtilization) nor scales workloads itself (IWorkloadSelfScaling), so nothing would act on the CPU target (50 %); ", refusal, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(id));
    }

    /// <summary>An orchestrator with EncCluster over <paramref name="wrap"/> of the in-memory runtime, on a clock that stays put.</summary>
    private static ServiceProvider Host(Func<InMemoryWorkloadRuntime, IWorkloadRuntime> wrap)
    {
        var services = new ServiceCollection();
        var builder = services.AddOrchestration(o => o.VmId = "vm-enc-util-" + Guid.NewGuid().ToString("N")[..8])
            .UseTimeProvider(new ManualTimeProvider())
            .AddInMemoryRuntime();
        services.Replace(ServiceDescriptor.Singleton(sp => wrap(sp.GetRequiredService<InMemoryWorkloadRuntime>())));
        builder.AddEncCluster();
        return services.BuildServiceProvider();
    }

    /// <summary>A deployment of the default type (an EncCluster has a fixed size and is never autoscaled) with a CPU target: the decorator passes it through.</summary>
    private static DeploymentSpec Spec()
    {
        var web = Specs.Web(replicas: 1);
        return web with { Components = [web.Components[0] with { Autoscaling = new AutoscalingSpec { MaxReplicas = 3, TargetCpuUtilizationPercent = 50 } }] };
    }
}
