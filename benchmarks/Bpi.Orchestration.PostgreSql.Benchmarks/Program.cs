// PostgreSQL benchmarks (timing harnesses on a real server; BenchmarkDotNet's repetitions do not fit multi-second,
// multi-instance scenarios). Each mode creates a database of its own and drops it afterwards. Without a server
// (BPI_POSTGRES_CONNECTION unset or not answering) it prints why and exits 0, so the CI smoke skips cleanly.
//
//   audit <seconds> <instances> <in-flight>  appends/s to one chain from <instances> stores (own pools) appending at once
//   store <records>                          save and read latency of the deployment store (p50, p99)
//   takeover <rounds> <lease-ms>             an owner stops renewing; time from its lease's expiry to another instance's take-over
using System.Diagnostics;
using System.Globalization;
using Bpi.Orchestration.PostgreSql.Benchmarks;
using Npgsql;

var server = Environment.GetEnvironmentVariable("BPI_POSTGRES_CONNECTION");
if (string.IsNullOrEmpty(server))
{
    Console.WriteLine("skipped: BPI_POSTGRES_CONNECTION is not set (source .ci/engines/postgres.sh)");
    return 0;
}

try
{
    await using var probe = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { Timeout = 5, Pooling = false }.ConnectionString);
    await probe.OpenAsync();
}
catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
{
    Console.WriteLine($"skipped: no PostgreSQL server answers at BPI_POSTGRES_CONNECTION ({ex.Message})");
    return 0;
}

int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
var name = "bpi_bench_" + Guid.NewGuid().ToString("N");
await Admin($"CREATE DATABASE \"{name}\"");
var connectionString = new NpgsqlConnectionStringBuilder(server) { Database = name, MaxPoolSize = 200 }.ConnectionString;
try
{
    switch (args.FirstOrDefault())
    {
        case "audit":
            await Harnesses.AuditAsync(connectionString, TimeSpan.FromSeconds(Arg(1, 5)), Arg(2, 3), Arg(3, 256));
            break;
        case "store":
            await Harnesses.StoreAsync(connectionString, Arg(1, 2000));
            break;
        case "takeover":
            await Harnesses.TakeoverAsync(connectionString, Arg(1, 20), Arg(2, 1000));
            break;
        default:
            Console.Error.WriteLine("usage: audit <seconds> <instances> <in-flight> | store <records> | takeover <rounds> <lease-ms>");
            return 2;
    }
}
finally
{
    NpgsqlConnection.ClearAllPools();
    await Admin($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
}

return 0;

async Task Admin(string sql)
{
    await using var connection = new NpgsqlConnection(server);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand(sql, connection);
    await command.ExecuteNonQueryAsync();
}
