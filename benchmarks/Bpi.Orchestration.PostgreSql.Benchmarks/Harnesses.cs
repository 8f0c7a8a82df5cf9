using System.Diagnostics;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Ownership;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Bpi.Orchestration.PostgreSql.Benchmarks;

internal static class Harnesses
{
    public static async Task AuditAsync(string connectionString, TimeSpan duration, int instances, int inFlight)
    {
        var stores = new List<PostgreSqlAuditStore>();
        for (var i = 0; i < instances; i++)
        {
            stores.Add(await PostgreSqlAuditStore.OpenAsync(new PostgreSqlAuditStoreOptions { ConnectionString = connectionString }));
        }

        var payload = System.Text.Encoding.UTF8.GetBytes("{\"from\":\"1\",\"step\":\"3\",\"strategy\":\"rolling\",\"to\":\"2\",\"detail\":\"scaled web revision 2 to 3 replicas\"}");
        var appended = 0L;
        using var stop = new CancellationTokenSource(duration);
        var started = Stopwatch.GetTimestamp();
        var writers = stores.SelectMany((store, s) => Enumerable.Range(0, inFlight).Select(w => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await store.AppendAsync(new NewAuditEntry
                {
                    Timestamp = DateTimeOffset.UtcNow,
                    Actor = "instance-" + s,
                    Action = "rollout.step.completed",
                    Target = "web-" + w,
                    Outcome = "succeeded",
                    Payload = payload,
                });
                Interlocked.Increment(ref appended);
            }
        }))).ToArray();
        await Task.WhenAll(writers);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        await using var check = await PostgreSqlAuditStore.OpenAsync(new PostgreSqlAuditStoreOptions { ConnectionString = connectionString });
        var verified = await AuditVerifier.VerifyAsync(check);
        Console.WriteLine($"audit: {instances} instances x {inFlight} in flight, {appended} appends in {elapsed:0.00} s = {appended / elapsed:0} appends/s; chain of {check.Count} entries verifies: {verified.IsValid}");
    }

    public static async Task StoreAsync(string connectionString, int records)
    {
        await using var database = new PostgreSqlDatabase(new PostgreSqlStateOptions { ConnectionString = connectionString });
        var store = new PostgreSqlDeploymentStore(database);
        var record = BenchmarkRecords.New("web-00000000");
        await store.SaveAsync(record with { Id = "warm-0000000" });
        var saves = new List<double>();
        var reads = new List<double>();
        for (var i = 0; i < records; i++)
        {
            var id = "web-" + i.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
            var started = Stopwatch.GetTimestamp();
            var version = await store.SaveAsync(record with { Id = id });
            saves.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            started = Stopwatch.GetTimestamp();
            await store.SaveAsync(record with { Id = id, Version = version });
            saves.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            started = Stopwatch.GetTimestamp();
            _ = await store.GetAsync(id);
            reads.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        Console.WriteLine($"store: save p50 {Percentile(saves, 0.5):0.000} ms, p99 {Percentile(saves, 0.99):0.000} ms ({saves.Count} saves); read p50 {Percentile(reads, 0.5):0.000} ms, p99 {Percentile(reads, 0.99):0.000} ms ({reads.Count} reads)");
    }

    public static async Task TakeoverAsync(string connectionString, int rounds, int leaseMs)
    {
        var lease = TimeSpan.FromMilliseconds(leaseMs);
        PostgreSqlStateOptions Options(string instance) => new()
        {
            ConnectionString = connectionString,
            InstanceId = instance,
            LeaseDuration = lease,
            LeaseRenewInterval = lease / 3,
            LeaseSafetyMargin = lease / 4,
            PollInterval = lease,
            // Must stay below the lease (the default 1 s equals the 1 s lease the CI smoke uses).
            OwnershipConfirmationCache = lease / 10,
        };

        var delays = new List<double>();
        await using var survivorDatabase = new PostgreSqlDatabase(Options("survivor"));
        await using var survivor = new PostgreSqlOwnership(survivorDatabase, TimeProvider.System, NullLogger.Instance);
        var host = new RecordingHost();
        await survivor.StartAsync(host);
        for (var round = 0; round < rounds; round++)
        {
            var id = "web-" + round.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
            await using var ownerDatabase = new PostgreSqlDatabase(Options("owner-" + round));
            var owner = new PostgreSqlOwnership(ownerDatabase, TimeProvider.System, NullLogger.Instance);
            await owner.StartAsync(new RecordingHost());
            await owner.ClaimNewAsync(id);
            await new PostgreSqlDeploymentStore(ownerDatabase).SaveAsync(BenchmarkRecords.New(id) with { FencingToken = owner.GetFencingToken(id) });

            // The owner dies: its loop stops, nothing is released; the lease runs out.
            await Task.Delay(lease / 2);
            await owner.DisposeAsync();
            var expiresAt = await ExpiryAsync(ownerDatabase, id);
            var acquiredAt = await host.WaitAsync(id);
            delays.Add((acquiredAt - expiresAt).TotalMilliseconds);
        }

        await survivor.StopAsync();
        Console.WriteLine($"takeover: lease {leaseMs} ms, {rounds} rounds; from lease expiry to take-over: median {Percentile(delays, 0.5):0} ms, p99 {Percentile(delays, 0.99):0} ms, max {delays.Max():0} ms (a kill is taken over after at most lease + this)");
    }

    private static async Task<DateTimeOffset> ExpiryAsync(PostgreSqlDatabase database, string id)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand($"SELECT expires_at FROM {database.Schema}.leases WHERE deployment_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        return (DateTimeOffset)(DateTime)(await command.ExecuteScalarAsync())!;
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    private sealed class RecordingHost : IOwnedDeploymentsHost
    {
        private readonly Dictionary<string, TaskCompletionSource<DateTimeOffset>> _acquired = new(StringComparer.Ordinal);

        public Task AcquiredAsync(string deploymentId, CancellationToken cancellationToken = default)
        {
            Get(deploymentId).TrySetResult(DateTimeOffset.UtcNow);
            return Task.CompletedTask;
        }

        public Task LostAsync(string deploymentId) => Task.CompletedTask;

        public Task RefreshAsync(string deploymentId, CancellationToken cancellationToken = default) => Task.CompletedTask;

        // The takeover harness sends no commands: any that arrived would be a harness bug.
        public Task ExecuteCommandAsync(DeploymentCommand command, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The takeover harness sends no commands.");

        public Task<DateTimeOffset> WaitAsync(string deploymentId) => Get(deploymentId).Task.WaitAsync(TimeSpan.FromSeconds(60));

        private TaskCompletionSource<DateTimeOffset> Get(string deploymentId)
        {
            lock (_acquired)
            {
                if (!_acquired.TryGetValue(deploymentId, out var source))
                {
                    _acquired[deploymentId] = source = new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                return source;
            }
        }
    }
}
