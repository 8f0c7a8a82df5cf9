using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary>What a status prints: its values, never a collection's type name (<c>List`1[…]</c>).</summary>
public sealed class StatusTextTests
{
    [Fact]
    public async Task Status_list_component_and_orchestrator_texts_print_values_not_collection_type_names()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(2));
        var status = await host.SettleAsync(id);
        var list = await host.Vm.ListAsync();
        var state = await host.Vm.GetStateAsync();

        string[] texts = [status.ToString(), status.Components[0].ToString(), list.ToString(), state.ToString()];

        Assert.All(texts, t => Assert.DoesNotContain("`1[", t, StringComparison.Ordinal));
        Assert.All(texts, t => Assert.DoesNotContain("System.Collections", t, StringComparison.Ordinal));
        Assert.Contains(id, status.ToString(), StringComparison.Ordinal);
        Assert.Contains("web", status.Components[0].ToString(), StringComparison.Ordinal);
    }
}
