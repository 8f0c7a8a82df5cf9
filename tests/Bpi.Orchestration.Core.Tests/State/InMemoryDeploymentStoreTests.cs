using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Xunit;

namespace Bpi.Orchestration.Tests.State;

public sealed class InMemoryDeploymentStoreTests
{
    [Fact]
    public async Task A_refused_first_write_leaves_nothing_stored()
    {
        var store = new InMemoryDeploymentStore();

        // Read at version 4 of a deployment that was never stored: a conflict, and no trace of it afterwards.
        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => store.SaveAsync(Record("web-1") with { Version = 4 }).AsTask());

        Assert.Equal(OrchestrationErrorKind.Conflict, ex.Kind);
        Assert.Null(await store.GetAsync("web-1"));
        Assert.Empty(await store.ListAsync());
    }

    [Fact]
    public async Task A_write_read_at_an_old_version_is_refused_and_the_stored_record_stays()
    {
        var store = new InMemoryDeploymentStore();
        var first = Record("web-1");
        Assert.Equal(1, await store.SaveAsync(first));
        var second = first with { State = DeploymentState.Running };
        Assert.Equal(2, await store.SaveAsync(second));

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => store.SaveAsync(first with { State = DeploymentState.Failed }).AsTask());

        Assert.Equal(OrchestrationErrorKind.Conflict, ex.Kind);
        var stored = await store.GetAsync("web-1");
        Assert.Equal(DeploymentState.Running, stored!.State);
        Assert.Equal(2, stored.Version);
        Assert.Single(await store.ListAsync());
    }

    private static DeploymentRecord Record(string id) => new()
    {
        Id = id,
        State = DeploymentState.Pending,
        Revisions = [new RevisionSpec(1, Specs.Web())],
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
        CreatedBy = "test",
    };
}
