using Npgsql;
using Xunit;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// Whether a PostgreSQL server is there for the tests that need one (<c>BPI_POSTGRES_CONNECTION</c>, set by
/// <c>.ci/engines/postgres.sh</c>). Without one those tests skip with a clear message — unless
/// <c>BPI_REQUIRE_POSTGRES=1</c>, which turns the skip into a failure so CI can never pass by skipping.
/// </summary>
public static class PostgresTestEnvironment
{
    /// <summary>The variable that makes an absent server a failure: <c>BPI_REQUIRE_POSTGRES</c>.</summary>
    public const string RequireVariable = "BPI_REQUIRE_POSTGRES";

    /// <summary>The variable holding the server's connection string (without a database): <c>BPI_POSTGRES_CONNECTION</c>.</summary>
    public const string ConnectionVariable = "BPI_POSTGRES_CONNECTION";

    private static readonly Lazy<Task<string?>> Unavailability = new(ProbeAsync);

    /// <summary>Whether the server is required (<c>BPI_REQUIRE_POSTGRES=1</c>).</summary>
    public static bool IsRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>The server's connection string, or <see langword="null"/> when none is configured.</summary>
    public static string? ServerConnectionString => Environment.GetEnvironmentVariable(ConnectionVariable) is { Length: > 0 } value ? value : null;

    /// <summary>Why no server can be used, or <see langword="null"/> when one answers.</summary>
    public static Task<string?> ProblemAsync() => Unavailability.Value;

    /// <summary>Skips the calling <c>[SkippableFact]</c> when no server answers, or fails it when the server is required.</summary>
    public static async Task RequireServerAsync()
    {
        if (await Unavailability.Value is { } problem)
        {
            if (IsRequired)
            {
                throw new InvalidOperationException($"{RequireVariable}=1 but the PostgreSQL tests cannot run: {problem}");
            }

            Skip.If(true, $"{problem} Set {RequireVariable}=1 to make this a failure.");
        }
    }

    /// <summary>Creates a fresh, empty database on the server (the caller has called <see cref="RequireServerAsync"/>).</summary>
    /// <param name="label">Part of the database's name, to tell test classes apart in the server's log.</param>
    /// <returns>The database; dispose it to drop it.</returns>
    public static async Task<PostgresTestDatabase> CreateDatabaseAsync(string label)
    {
        await RequireServerAsync();
        var safe = new string([.. label.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(30)]);
        var name = $"bpi_{safe}_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(ServerConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name };
        return new PostgresTestDatabase(name, builder.ConnectionString);
    }

    private static async Task<string?> ProbeAsync()
    {
        if (ServerConnectionString is not { } connectionString)
        {
            return $"No PostgreSQL server is configured ({ConnectionVariable} is not set); run `source .ci/engines/postgres.sh`.";
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 5, Pooling = false };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync();
            return null;
        }
        catch (Exception exception) when (exception is NpgsqlException or ArgumentException or InvalidOperationException or TimeoutException)
        {
            return $"No PostgreSQL server answers at {ConnectionVariable}='{connectionString}' ({exception.Message}); run `source .ci/engines/postgres.sh`.";
        }
    }
}

/// <summary>A database of its own for one test class (or test); dropped on dispose, even with connections left open.</summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    internal PostgresTestDatabase(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>The connection string to the database.</summary>
    public string ConnectionString { get; }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(PostgresTestEnvironment.ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// An xunit class fixture: one fresh database per test class, created on first use and dropped after the class. Tests
/// call <see cref="GetConnectionStringAsync"/>, which skips (or fails, when required) without a server.
/// </summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private PostgresTestDatabase? _database;

    /// <summary>The class's database's connection string; skips the calling <c>[SkippableFact]</c> without a server.</summary>
    /// <param name="label">Part of the database's name.</param>
    public async Task<string> GetConnectionStringAsync(string label = "tests")
    {
        await PostgresTestEnvironment.RequireServerAsync();
        await _gate.WaitAsync();
        try
        {
            _database ??= await PostgresTestEnvironment.CreateDatabaseAsync(label);
            return _database.ConnectionString;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        _gate.Dispose();
    }
}
