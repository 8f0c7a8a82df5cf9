using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Analysis;

/// <summary>Which sender measures an analysis: the host's choice, else the runtime's default, else real HTTP — whatever the order of the calls.</summary>
public sealed class RequestSenderSelectionTests
{
    [Fact]
    public void Without_a_runtime_default_or_a_host_choice_the_sender_is_real_http()
    {
        using var provider = Build(b => b.AddStrategies());

        Assert.IsType<HttpInstanceRequestSender>(provider.GetRequiredService<IInstanceRequestSender>());
    }

    [Fact]
    public async Task The_in_memory_runtime_answers_for_its_simulated_services_whether_it_is_added_before_or_after_the_strategies()
    {
        foreach (var order in new Action<IOrchestrationBuilder>[] { b => b.AddInMemoryRuntime().AddStrategies(), b => b.AddStrategies().AddInMemoryRuntime() })
        {
            using var provider = Build(order);
            var sender = provider.GetRequiredService<IInstanceRequestSender>();

            // An instance the in-memory runtime does not hold is "not reached" by the simulation; real HTTP would try a socket.
            var stranger = new WorkloadInstance { InstanceId = "nobody", DeploymentId = "d", ComponentId = "web", Revision = 1, State = InstanceState.Running };
            var sample = await sender.SendAsync(stranger, "/");

            Assert.IsNotType<HttpInstanceRequestSender>(sender);
            Assert.True(sample.Unreached);
        }
    }

    [Fact]
    public void A_sender_the_host_chose_wins_over_the_runtime_default_whatever_the_order()
    {
        foreach (var order in new Action<IOrchestrationBuilder>[]
        {
            b => b.AddInMemoryRuntime().AddStrategies().UseRequestSender<FixedSender>(),
            b => b.AddStrategies().UseRequestSender<FixedSender>().AddInMemoryRuntime(),
            b => b.UseRequestSender<FixedSender>().AddInMemoryRuntime().AddStrategies(),
        })
        {
            using var provider = Build(order);

            Assert.IsType<FixedSender>(provider.GetRequiredService<IInstanceRequestSender>());
        }
    }

    private static ServiceProvider Build(Action<IOrchestrationBuilder> configure)
    {
        var services = new ServiceCollection();
        configure(services.AddOrchestration(o => o.VmId = "vm-test"));
        return services.BuildServiceProvider();
    }

    private sealed class FixedSender : IInstanceRequestSender
    {
        public ValueTask<RequestSample> SendAsync(WorkloadInstance instance, string path, CancellationToken cancellationToken = default)
            => ValueTask.FromResult(new RequestSample(true, TimeSpan.Zero));
    }
}
