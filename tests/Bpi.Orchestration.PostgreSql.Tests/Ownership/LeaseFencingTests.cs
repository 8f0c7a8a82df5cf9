using Bpi.Orchestration.Testing;

namespace Bpi.Orchestration.PostgreSql.Tests.Ownership;

/// <summary>Leases on one database between two instances, on a manual clock: takeover after expiry and fencing of the stale owner.</summary>
public sealed class LeaseFencingTests : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private readonly PostgresDatabaseFixture _fixture;
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero));
    private readonly List<PostgreSqlDatabase> _databases = [];

    public LeaseFencingTests(PostgresDatabaseFixture fixture) => _fixture = fixture;

    private async Task<(PostgreSqlLeases Leases, IDeploymentStore Store)> InstanceAsync(string name)
    {
        var database = new PostgreSqlDatabase(new PostgreSqlStateOptions { ConnectionString = await _fixture.GetConnectionStringAsync("leases") });
        _databases.Add(database);
        return (new PostgreSqlLeases(database, name, _clock), new PostgreSqlDeploymentStore(database));
    }

    [SkippableFact]
    public async Task One_instance_holds_a_lease_until_it_expires_then_another_takes_it_with_a_higher_token()
    {
        var (a, _) = await InstanceAsync("a");
        var (b, _) = await InstanceAsync("b");

        Assert.True(await a.TryAcquireAsync("web-00000a01"));
        Assert.False(await b.TryAcquireAsync("web-00000a01"));
        Assert.True(a.ShouldAct("web-00000a01"));
        Assert.False(b.ShouldAct("web-00000a01"));

        // The safety margin: the holder stops acting before its lease expires, before anyone may take over.
        _clock.Advance(TimeSpan.FromSeconds(13));
        Assert.False(a.ShouldAct("web-00000a01"));
        Assert.False(await b.TryAcquireAsync("web-00000a01"));

        _clock.Advance(TimeSpan.FromSeconds(3));
        Assert.True(await b.TryAcquireAsync("web-00000a01"));
        Assert.True(b.ShouldAct("web-00000a01"));
        Assert.Equal(a.GetFencingToken("web-00000a01") + 1, b.GetFencingToken("web-00000a01"));
        Assert.False(await a.RenewAsync("web-00000a01"));
        Assert.False(a.ShouldAct("web-00000a01"));
    }

    [SkippableFact]
    public async Task A_stale_owner_that_wakes_after_losing_its_lease_cannot_write_the_record()
    {
        var (a, storeA) = await InstanceAsync("a");
        var (b, storeB) = await InstanceAsync("b");
        await a.ClaimNewAsync("web-00000a02");
        await storeA.SaveAsync(Records.New("web-00000a02", a.GetFencingToken("web-00000a02")));
        var staleView = (await storeA.GetAsync("web-00000a02"))!;

        // A is paused past its lease (as with SIGSTOP); B takes over but has not written anything yet.
        _clock.Advance(TimeSpan.FromSeconds(16));
        Assert.True(await b.TryAcquireAsync("web-00000a02"));
        var error = await Assert.ThrowsAsync<OrchestrationException>(async () =>
            await storeA.SaveAsync(staleView with { State = DeploymentState.Failed, FencingToken = a.GetFencingToken("web-00000a02") }));

        Assert.Equal(OrchestrationErrorKind.Conflict, error.Kind);
        Assert.Contains("another orchestrator instance owns it", error.Message);
        var current = (await storeB.GetAsync("web-00000a02"))!;
        Assert.Equal(DeploymentState.Deploying, current.State);
        Assert.Equal(2, await storeB.SaveAsync(current with { State = DeploymentState.Running, FencingToken = b.GetFencingToken("web-00000a02") }));
    }

    [SkippableFact]
    public async Task A_released_lease_is_taken_at_once_by_another_instance()
    {
        var (a, _) = await InstanceAsync("a");
        var (b, _) = await InstanceAsync("b");
        Assert.True(await a.TryAcquireAsync("web-00000a03"));

        await a.ReleaseAsync("web-00000a03");

        Assert.False(a.ShouldAct("web-00000a03"));
        Assert.True(await b.TryAcquireAsync("web-00000a03"));
        Assert.Equal(2, b.GetFencingToken("web-00000a03"));
    }

    [SkippableFact]
    public async Task Confirming_ownership_reads_the_lease_row_at_most_once_per_cache_period_and_never_past_the_safety_margin()
    {
        var (a, _) = await InstanceAsync("a");
        await a.ClaimNewAsync("web-00000a04");
        Assert.True(await a.ConfirmAsync("web-00000a04"));

        // The lease taken behind A's back (a clock A does not share): the cached confirmation holds for its period only.
        await using (var connection = new Npgsql.NpgsqlConnection(await _fixture.GetConnectionStringAsync("leases")))
        {
            await connection.OpenAsync();
            await using var steal = new Npgsql.NpgsqlCommand("UPDATE bpi_orchestration.leases SET owner = 'b', fencing_token = fencing_token + 1 WHERE deployment_id = 'web-00000a04'", connection);
            Assert.Equal(1, await steal.ExecuteNonQueryAsync());
        }

        Assert.True(await a.ConfirmAsync("web-00000a04"));
        _clock.Advance(TimeSpan.FromSeconds(1.1));
        Assert.False(await a.ConfirmAsync("web-00000a04"));
        Assert.False(a.ShouldAct("web-00000a04"));

        // Without any database read: a lease within its safety margin of expiry is not confirmed (a process paused past it).
        var (c, _) = await InstanceAsync("c");
        await c.ClaimNewAsync("web-00000a05");
        Assert.True(await c.ConfirmAsync("web-00000a05"));
        _clock.Advance(TimeSpan.FromSeconds(12.5));
        Assert.False(await c.ConfirmAsync("web-00000a05"));
        Assert.False(await (await InstanceAsync("d")).Leases.ConfirmAsync("web-00000a05"));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }
}
