using Npgsql;

namespace Bpi.Orchestration.PostgreSql.Tests.Schema;

public sealed class SchemaMigrationTests : IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresDatabaseFixture _fixture;

    public SchemaMigrationTests(PostgresDatabaseFixture fixture) => _fixture = fixture;

    [SkippableFact]
    public async Task Instances_starting_at_once_migrate_the_schema_exactly_once()
    {
        var connectionString = await _fixture.GetConnectionStringAsync("schema");
        var databases = Enumerable.Range(0, 6).Select(_ => new PostgreSqlDatabase(new PostgreSqlStateOptions { ConnectionString = connectionString, Schema = "concurrent" })).ToList();
        try
        {
            await Task.WhenAll(databases.Select(d => d.EnsureSchemaAsync(CancellationToken.None)));
            await databases[0].EnsureSchemaAsync(CancellationToken.None);

            await using var connection = await databases[0].DataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("SELECT count(*), max(version) FROM concurrent.schema_version", connection);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(PostgreSqlSchema.CurrentVersion, reader.GetInt64(0));
            Assert.Equal(PostgreSqlSchema.CurrentVersion, reader.GetInt32(1));
        }
        finally
        {
            foreach (var database in databases)
            {
                await database.DisposeAsync();
            }
        }
    }

    [SkippableFact]
    public async Task A_schema_migrated_by_a_newer_package_is_refused_with_what_to_do()
    {
        var connectionString = await _fixture.GetConnectionStringAsync("schema");
        await using var database = new PostgreSqlDatabase(new PostgreSqlStateOptions { ConnectionString = connectionString, Schema = "newer" });
        await database.EnsureSchemaAsync(CancellationToken.None);
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await using var command = new NpgsqlCommand($"INSERT INTO newer.schema_version (version) VALUES ({PostgreSqlSchema.CurrentVersion + 1})", connection);
            await command.ExecuteNonQueryAsync();
        }

        await using var later = new PostgreSqlDatabase(new PostgreSqlStateOptions { ConnectionString = connectionString, Schema = "newer" });
        var error = await Assert.ThrowsAsync<OrchestrationException>(() => later.EnsureSchemaAsync(CancellationToken.None));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("upgrade Bpi.Orchestration.PostgreSql", error.Message);
    }

    [Fact]
    public void Invalid_options_are_refused_with_every_problem()
    {
        var options = new PostgreSqlStateOptions { ConnectionString = "", Schema = "Bad-Name", LeaseDuration = TimeSpan.FromSeconds(4), LeaseRenewInterval = TimeSpan.FromSeconds(3) };

        Assert.Equal(4, options.Validate().Count);
        // Used without a host (a database opened directly), the same problems come as the one options exception.
        var problems = OptionsProblems.Of(Assert.ThrowsAny<Exception>(() => new PostgreSqlDatabase(options)), typeof(PostgreSqlStateOptions));
        Assert.Equal(4, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("PostgreSqlStateOptions.Schema: 'Bad-Name' is not a lowercase SQL identifier; ", StringComparison.Ordinal));
    }
}
