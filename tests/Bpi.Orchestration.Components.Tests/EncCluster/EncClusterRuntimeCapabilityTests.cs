using Bpi.Orchestration.EncCluster;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
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
        await using var plain = new EncClusterWorkloadRuntime(new ForwardingWorkloadRuntime(inner), manager);
        await using var selfScaling = new EncClusterWorkloadRuntime(new SelfScalingWorkloadRuntime(inner), manager);

        Assert.False(((IWorkloadSelfScaling)plain).ScalesItself);
        Assert.True(((IWorkloadSelfScaling)selfScaling).ScalesItself);
    }
}
