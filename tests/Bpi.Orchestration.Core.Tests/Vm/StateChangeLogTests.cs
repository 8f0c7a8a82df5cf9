using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

public sealed class StateChangeLogTests
{
    [Fact]
    public async Task A_new_deployment_logs_each_real_state_change_and_no_change_from_a_state_to_itself()
    {
        var logs = new CapturingLoggerProvider();
        await using var host = new TestHost(extra: b => b.Services.AddLogging(l => l.AddProvider(logs)));

        var id = await host.Vm.DeployAsync(Specs.Web(2));
        await host.SettleAsync(id);

        var changes = logs.Messages.Where(m => m.Contains($"Deployment {id}: ", StringComparison.Ordinal) && m.Contains(" -> ", StringComparison.Ordinal)).ToList();
        Assert.Contains(changes, m => m.EndsWith("Pending -> Deploying", StringComparison.Ordinal));
        Assert.Contains(changes, m => m.EndsWith("Deploying -> Running", StringComparison.Ordinal));
        Assert.DoesNotContain(changes, m => m.EndsWith("Pending -> Pending", StringComparison.Ordinal));
    }
}
