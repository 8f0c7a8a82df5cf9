using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary>A status read answers from what the runtime last reported; runtime trouble is reported, not waited out.</summary>
public sealed class StatusReadTests
{
    [Fact]
    public async Task A_status_read_while_the_runtime_fails_answers_from_the_last_observation_without_the_clock_moving()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(3));
        await host.SettleAsync(id);
        var healthy = await host.Vm.GetStatusAsync(id);
        host.Runtime.Faults.FailNextCalls(10);
        var before = host.Clock.GetUtcNow();

        // Nobody advances the clock: a read that waited out the runtime's retry delays would never complete.
        var status = await host.Vm.GetStatusAsync(id).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(before, host.Clock.GetUtcNow());
        Assert.Null(healthy.RuntimeError);
        Assert.Equal(before, healthy.InstancesObservedAt);
        Assert.Contains("simulated a transient engine failure", status.RuntimeError, StringComparison.Ordinal);
        Assert.Equal(healthy.InstancesObservedAt, status.InstancesObservedAt);
        Assert.Equal(3, Assert.Single(Assert.Single(status.Components).Instances).Running);
        Assert.Contains("runtime: ", status.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_status_read_on_the_real_clock_asks_the_runtime_once_and_reports_its_failure_instead_of_retrying()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "vm-real-clock").AddInMemoryRuntime();
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var runtime = provider.GetRequiredService<InMemoryWorkloadRuntime>();
        var id = await vm.DeployAsync(Specs.Web(2));
        await vm.WaitUntilSettledAsync(id, TestHost.Timeout());
        runtime.Faults.FailNextCalls(1);

        // One injected failure: a read that retried would succeed on its second call and report no error.
        var failed = await vm.GetStatusAsync(id);
        var next = await vm.GetStatusAsync(id);

        Assert.Contains("simulated a transient engine failure", failed.RuntimeError, StringComparison.Ordinal);
        Assert.Null(next.RuntimeError);
        Assert.Equal(2, Assert.Single(Assert.Single(next.Components).Instances).Running);
    }

    [Fact]
    public async Task A_destroyed_deployment_keeps_no_runtime_observation_even_when_nobody_reads_it_again()
    {
        await using var host = new TestHost();
        var queries = ((OrchestrationVm)host.Vm).QueriesForTests;
        var kept = await host.Vm.DeployAsync(Specs.Web(1, name: "kept"));
        var gone = await host.Vm.DeployAsync(Specs.Web(1, name: "gone"));
        await host.SettleAsync(kept);
        await host.SettleAsync(gone);
        await host.Vm.GetStatusAsync(kept);
        await host.Vm.GetStatusAsync(gone);
        Assert.Equal(2, queries.ObservedDeployments);

        await host.Vm.DestroyAsync(gone);

        Assert.Equal(1, queries.ObservedDeployments);
    }

    [Fact]
    public async Task A_status_prints_its_components_instead_of_a_type_name()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(2));
        await host.SettleAsync(id);

        var text = (await host.Vm.GetStatusAsync(id)).ToString();

        Assert.DoesNotContain("List`1", text, StringComparison.Ordinal);
        Assert.Contains("web: r1 2/2 running of 2 desired", text, StringComparison.Ordinal);
    }
}
