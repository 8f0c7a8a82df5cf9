using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary><see cref="IOrchestrationVm.GetStateAsync"/> counts instances with one bounded runtime call and never waits out a failing runtime.</summary>
public sealed class StateReadTests
{
    [Fact]
    public async Task A_state_read_with_the_runtime_failing_answers_at_once_with_the_last_instance_count()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(3));
        await host.SettleAsync(id);
        Assert.Equal(3, (await host.Vm.GetStateAsync()).ManagedInstances);

        host.Runtime.Faults.FailNextCalls(5);
        // On the manual clock: a read that retried would wait for the clock, which nobody advances here.
        var state = await host.Vm.GetStateAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(3, state.ManagedInstances);
        Assert.Equal(1, state.ActiveDeployments);
    }

    [Fact]
    public async Task A_state_read_with_a_runtime_slower_than_the_read_budget_answers_after_one_second_of_the_clock()
    {
        await using var host = new TestHost(runtime: o => o.CallLatency = TimeSpan.Zero);
        var id = await host.Vm.DeployAsync(Specs.Web(2));
        await host.SettleAsync(id);
        Assert.Equal(2, (await host.Vm.GetStateAsync()).ManagedInstances);
        host.Services.GetService(typeof(Microsoft.Extensions.Options.IOptions<Bpi.Orchestration.Testing.InMemoryRuntimeOptions>))
            .As<Microsoft.Extensions.Options.IOptions<Bpi.Orchestration.Testing.InMemoryRuntimeOptions>>().Value.CallLatency = TimeSpan.FromMinutes(5);

        var read = host.Vm.GetStateAsync();
        await host.Clock.WaitForTimersAsync(2, TestHost.Timeout()); // the runtime call's latency and the read budget
        host.Clock.Advance(TimeSpan.FromSeconds(1));
        var state = await read.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, state.ManagedInstances);
    }
}

internal static class ObjectCast
{
    public static T As<T>(this object? value) => (T)value!;
}
