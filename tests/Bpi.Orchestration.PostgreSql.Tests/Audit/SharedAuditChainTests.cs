using System.Text;
using Bpi.Orchestration.Audit;
using Npgsql;

namespace Bpi.Orchestration.PostgreSql.Tests.Audit;

/// <summary>Several instances (stores with their own connections) appending to one chain in one database.</summary>
public sealed class SharedAuditChainTests : IClassFixture<PostgresDatabaseFixture>, IDisposable
{
    private readonly PostgresDatabaseFixture _fixture;
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate("tests.example/key");

    public SharedAuditChainTests(PostgresDatabaseFixture fixture) => _fixture = fixture;

    private async Task<PostgreSqlAuditStore> OpenAsync(string origin)
        => await PostgreSqlAuditStore.OpenAsync(new PostgreSqlAuditStoreOptions
        {
            ConnectionString = await _fixture.GetConnectionStringAsync("sharedaudit"),
            Origin = origin,
            CheckpointSigners = { _signer },
            CheckpointInterval = TimeSpan.Zero,
            CheckpointEveryEntries = 0,
        });

    private static NewAuditEntry Entry(int instance, int n) => new()
    {
        Actor = $"instance-{instance}",
        Action = "rollout.step.completed",
        Target = $"web-{n % 7:D8}",
        Outcome = "succeeded",
        Payload = Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"),
    };

    [SkippableFact]
    public async Task Three_instances_appending_at_once_build_one_chain_that_verifies_on_each()
    {
        var stores = new[] { await OpenAsync("tests.example/shared"), await OpenAsync("tests.example/shared"), await OpenAsync("tests.example/shared") };
        try
        {
            var appends = stores.SelectMany((store, i) => Enumerable.Range(0, 400).Select(n => store.AppendAsync(Entry(i, n)).AsTask()));
            var receipts = await Task.WhenAll(appends);
            foreach (var store in stores)
            {
                await store.RefreshAsync();
            }

            Assert.Equal(Enumerable.Range(0, 1200).Select(i => (long)i), receipts.Select(r => r.Sequence).Order());
            foreach (var store in stores)
            {
                Assert.Equal(1200, store.Count);
                Assert.Equal(stores[0].GetRootHash(), store.GetRootHash());
                await store.CreateCheckpointAsync();
                var result = await AuditVerifier.VerifyAsync(store, new CheckpointVerifier([_signer.VerifierKey]));
                Assert.True(result.IsValid, result.Message);
                Assert.Equal(1200, result.EntriesVerified);
            }

            var entries = new List<AuditEntry>();
            await foreach (var entry in stores[2].ReadAsync())
            {
                entries.Add(entry);
            }

            Assert.Equal(3, entries.Select(e => e.Actor).Distinct().Count());
            Assert.Equal(receipts.OrderBy(r => r.Sequence).Select(r => r.Hash), entries.Select(e => e.Hash));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [SkippableFact]
    public async Task An_entry_changed_in_the_database_stops_the_log_from_opening()
    {
        await using (var store = await OpenAsync("tests.example/tampered"))
        {
            for (var n = 0; n < 10; n++)
            {
                await store.AppendAsync(Entry(0, n));
            }
        }

        await using (var connection = new NpgsqlConnection(await _fixture.GetConnectionStringAsync("sharedaudit")))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("UPDATE bpi_orchestration.audit_entries SET frame = overlay(frame placing '\\x58'::bytea from 40 for 1) WHERE log = 'tests.example/tampered' AND sequence = 4", connection);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await OpenAsync("tests.example/tampered"));
        Assert.Contains("Entry 4", error.Message);
    }

    public void Dispose() => _signer.Dispose();
}
