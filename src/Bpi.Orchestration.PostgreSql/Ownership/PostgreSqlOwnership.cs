using System.Threading.Channels;
using Bpi.Orchestration.Ownership;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>
/// The <see cref="IDeploymentOwnership"/> of one instance among several on one database, active-active: every instance
/// takes unowned or expired deployments up to its fair share (live deployments ÷ live instances, rounded up), renews
/// what it holds every <see cref="PostgreSqlStateOptions.LeaseRenewInterval"/>, gives a deployment up (stops its
/// in-flight plan) the moment it comes within <see cref="PostgreSqlStateOptions.LeaseSafetyMargin"/> of expiry without a
/// renewal, and releases everything on a clean stop. A dedicated connection LISTENs for <c>changed:</c> (refresh the
/// record reads answer) and <c>released:</c> (look for work at once); polling every
/// <see cref="PostgreSqlStateOptions.PollInterval"/> (and at the earliest expiry of another instance's lease) is the
/// fallback, since notifications are lost while disconnected.
/// </summary>
internal sealed class PostgreSqlOwnership : IDeploymentOwnership, IAsyncDisposable
{
    private readonly PostgreSqlDatabase _database;
    private readonly PostgreSqlLeases _leases;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PostgreSqlStateOptions _options;
    private readonly Channel<string> _wake = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<string> _lostReported = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _seenVersions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly PostgreSqlCommands _commands;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Task, bool> _runningCommands = new();
    private IOwnedDeploymentsHost? _host;
    private Task? _loop;
    private Task? _listener;

    public PostgreSqlOwnership(PostgreSqlDatabase database, TimeProvider time, ILogger logger)
    {
        _database = database;
        _options = database.Options;
        _time = time;
        _logger = logger;
        _leases = new PostgreSqlLeases(database, _options.ResolveInstanceId(), time);
        _commands = new PostgreSqlCommands(database, _leases.Owner, time);
    }

    /// <summary>This instance's name in the lease table.</summary>
    public string Owner => _leases.Owner;

    internal PostgreSqlLeases Leases => _leases;

    public bool ShouldAct(string deploymentId) => _leases.ShouldAct(deploymentId);

    public long GetFencingToken(string deploymentId) => _leases.GetFencingToken(deploymentId);

    public ValueTask<bool> ConfirmAsync(string deploymentId, CancellationToken cancellationToken = default) => _leases.ConfirmAsync(deploymentId, cancellationToken);

    public ValueTask SendToOwnerAsync(DeploymentCommand command, CancellationToken cancellationToken = default) => _commands.SendAsync(command, cancellationToken);

    public async ValueTask ClaimNewAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        await _leases.ClaimNewAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        lock (_lostReported)
        {
            _lostReported.Remove(deploymentId);
        }
    }

    public async ValueTask StartAsync(IOwnedDeploymentsHost host, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (_host is not null)
        {
            return;
        }

        await _database.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        _host = host;
        Log.OwnershipStarted(_logger, Owner, _options.LeaseDuration, _options.LeaseRenewInterval);
        using (ExecutionContext.SuppressFlow())
        {
            _listener = Task.Run(() => ListenAsync(_stopping.Token), CancellationToken.None);
            _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        }
    }

    public async ValueTask StopAsync(CancellationToken cancellationToken = default)
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        foreach (var task in new[] { _loop, _listener }.Concat(_runningCommands.Keys))
        {
            if (task is not null)
            {
                await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        var held = _leases.Held;
        var released = 0;
        foreach (var (id, _) in held)
        {
            try
            {
                await _leases.ReleaseAsync(id, cancellationToken).ConfigureAwait(false);
                released++;
            }
            catch (OrchestrationException ex)
            {
                // Not released: it expires on its own and another instance takes it then.
                Log.RenewFailed(_logger, ex, Owner);
            }
        }

        try
        {
            await ExecuteAsync($"DELETE FROM {_database.Schema}.instances WHERE owner = $1", [Owner], cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            Log.RenewFailed(_logger, ex, Owner);
        }

        Log.Released(_logger, Owner, released);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        foreach (var task in new[] { _loop, _listener })
        {
            if (task is not null)
            {
                await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        _stopping.Dispose();
    }

    /// <summary>Renew, give up what could not be renewed in time, look for work; then wait for the next of those or a notification.</summary>
    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var nextRenew = _time.GetUtcNow();
        var nextPoll = nextRenew;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var now = _time.GetUtcNow();
                if (now >= nextRenew)
                {
                    await RenewAsync(cancellationToken).ConfigureAwait(false);
                    nextRenew = now + _options.LeaseRenewInterval;
                }

                await GiveUpExpiringAsync().ConfigureAwait(false);

                var poll = now >= nextPoll;
                while (_wake.Reader.TryRead(out var message))
                {
                    if (message.StartsWith("changed:", StringComparison.Ordinal))
                    {
                        await _host!.RefreshAsync(message["changed:".Length..], cancellationToken).ConfigureAwait(false);
                    }
                    else if (message.StartsWith("command:", StringComparison.Ordinal))
                    {
                        // A command sent to the owner: run it when this instance is the owner (the others ignore it).
                        var deploymentId = message["command:".Length..];
                        if (_leases.ShouldAct(deploymentId))
                        {
                            await PickUpCommandsAsync(deploymentId, cancellationToken).ConfigureAwait(false);
                        }
                    }
                    else
                    {
                        // A lease released, a (re)connected listener: look for work now.
                        poll = true;
                    }
                }

                if (poll)
                {
                    nextPoll = await PollAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Whatever failed (the database, a take-over), the loop goes on: it alone renews the leases.
                Log.PollFailed(_logger, ex, Owner, _options.PollInterval);
                nextPoll = _time.GetUtcNow() + _options.PollInterval;
            }

            var wakeAt = Min(nextRenew, nextPoll);
            foreach (var (id, expiresAt) in _leases.Held)
            {
                var deadline = expiresAt - _options.LeaseSafetyMargin;
                if (deadline > _time.GetUtcNow() && !IsLostReported(id))
                {
                    wakeAt = Min(wakeAt, deadline);
                }
            }

            await WaitAsync(wakeAt - _time.GetUtcNow(), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(delay, _time, waiting.Token);
        var notified = _wake.Reader.WaitToReadAsync(waiting.Token).AsTask();
        await Task.WhenAny(timer, notified).ConfigureAwait(false);
        await waiting.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Renews every lease held and this instance's heartbeat; a renewal that stalls is cut off before the safety margin runs out.</summary>
    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.LeaseRenewInterval, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await ExecuteAsync(
                $"INSERT INTO {_database.Schema}.instances (owner, expires_at) VALUES ($1, $2) ON CONFLICT (owner) DO UPDATE SET expires_at = $2",
                [Owner, _time.GetUtcNow() + _options.LeaseDuration],
                linked.Token).ConfigureAwait(false);
            foreach (var (id, _) in _leases.Held)
            {
                if (IsLostReported(id))
                {
                    continue;
                }

                if (!await _leases.RenewAsync(id, linked.Token).ConfigureAwait(false))
                {
                    await ReportLostAsync(id).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or OrchestrationException or TimeoutException || (ex is OperationCanceledException && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested))
        {
            // Kept trying on the next tick; GiveUpExpiringAsync stops acting before anyone may take over.
            Log.RenewFailed(_logger, ex, Owner);
        }
    }

    /// <summary>Stops acting on every deployment whose lease is within the safety margin of expiry (its renewals failed).</summary>
    private async Task GiveUpExpiringAsync()
    {
        foreach (var (id, _) in _leases.Held)
        {
            if (!_leases.ShouldAct(id) && !IsLostReported(id))
            {
                await ReportLostAsync(id).ConfigureAwait(false);
            }
        }
    }

    private async Task ReportLostAsync(string deploymentId)
    {
        lock (_lostReported)
        {
            if (!_lostReported.Add(deploymentId))
            {
                return;
            }
        }

        Log.LeaseLost(_logger, Owner, deploymentId);
        await _host!.LostAsync(deploymentId).ConfigureAwait(false);
    }

    private bool IsLostReported(string deploymentId)
    {
        lock (_lostReported)
        {
            return _lostReported.Contains(deploymentId);
        }
    }

    /// <summary>
    /// Reads every deployment with its lease: refreshes records other instances changed, takes free or expired leases up
    /// to this instance's fair share, and returns when to look again (the poll interval, or sooner when another
    /// instance's lease expires before then).
    /// </summary>
    private async Task<DateTimeOffset> PollAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var rows = new List<(string Id, long Version, bool Live, string? Owner, DateTimeOffset? ExpiresAt)>();
        long instances;
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using (var command = new NpgsqlCommand($"SELECT count(*) FROM {_database.Schema}.instances WHERE expires_at >= $1", connection))
            {
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
                instances = Math.Max(1, (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!);
            }

            using (var command = new NpgsqlCommand(
                $"SELECT d.id, d.version, d.state <> 'Destroyed', l.owner, l.expires_at FROM {_database.Schema}.deployments d LEFT JOIN {_database.Schema}.leases l ON l.deployment_id = d.id",
                connection))
            {
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        rows.Add((
                            reader.GetString(0),
                            reader.GetInt64(1),
                            reader.GetBoolean(2),
                            reader.IsDBNull(3) ? null : reader.GetString(3),
                            reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4)));
                    }
                }
            }
        }

        var next = now + _options.PollInterval;
        var candidates = new List<string>();
        var live = 0;
        foreach (var row in rows)
        {
            if (!_seenVersions.TryGetValue(row.Id, out var seen) || seen != row.Version)
            {
                _seenVersions[row.Id] = row.Version;
                await _host!.RefreshAsync(row.Id, cancellationToken).ConfigureAwait(false);
            }

            if (!row.Live)
            {
                continue;
            }

            live++;
            if (row.Owner is null || row.ExpiresAt < now)
            {
                candidates.Add(row.Id);
            }
            else if (!string.Equals(row.Owner, Owner, StringComparison.Ordinal) && row.ExpiresAt is { } expires)
            {
                // Wake when another instance's lease runs out, so a dead instance's work is taken over at once.
                next = Min(next, expires + TimeSpan.FromMilliseconds(10));
            }
        }

        var fairShare = (int)((live + instances - 1) / instances);
        Random.Shared.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(candidates));
        foreach (var id in candidates)
        {
            if (_leases.ActiveCount >= fairShare)
            {
                break;
            }

            if (await _leases.TryAcquireAsync(id, cancellationToken).ConfigureAwait(false))
            {
                lock (_lostReported)
                {
                    _lostReported.Remove(id);
                }

                Log.LeaseTaken(_logger, Owner, id, _leases.GetFencingToken(id));
                await _host!.AcquiredAsync(id, cancellationToken).ConfigureAwait(false);
            }
        }

        // Commands sent to this instance while no notification reached it, or to a previous owner that died before it
        // ran them; and the outcomes kept past their retention.
        await PickUpCommandsAsync(null, cancellationToken).ConfigureAwait(false);
        await _commands.PurgeAsync(cancellationToken).ConfigureAwait(false);
        return next;
    }

    /// <summary>How long one wait for a notification may last before the listener checks whether it is stopping.</summary>
    internal static readonly TimeSpan ListenCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Waits for a notification on the listening connection, at most the given time (<see langword="true"/> when one
    /// came). Npgsql's <see cref="NpgsqlConnection.WaitAsync(TimeSpan, CancellationToken)"/>; tests replace it to stand
    /// for a wait that missed its cancellation.
    /// </summary>
    internal Func<NpgsqlConnection, TimeSpan, CancellationToken, Task<bool>> WaitForNotificationAsync { get; set; }
        = static (connection, timeout, cancellationToken) => connection.WaitAsync(timeout, cancellationToken);

    /// <summary>LISTENs on a dedicated connection and turns notifications into wake-ups; reconnects after a failure.</summary>
    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    connection.Notification += (_, e) =>
                    {
                        if (e.Payload.StartsWith("done:", StringComparison.Ordinal))
                        {
                            // A command's outcome: wakes its sender here at once, not through the ownership loop.
                            _commands.Signal(e.Payload);
                        }
                        else
                        {
                            _wake.Writer.TryWrite(e.Payload);
                        }
                    };
                    using (var listen = new NpgsqlCommand($"LISTEN {_database.Channel}", connection))
                    {
                        await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }

                    // Whatever happened while not listening is found by a poll.
                    _wake.Writer.TryWrite("listening:");

                    // Each wait is bounded and the token is checked between waits: Npgsql can miss a cancellation that
                    // arrives just as a wait begins (npgsql/npgsql#5975), and a wait that missed it would otherwise
                    // last until the next notification, holding StopAsync, and with it the host's shutdown, forever.
                    while (!cancellationToken.IsCancellationRequested)
                    {
                        await WaitForNotificationAsync(connection, ListenCheckInterval, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or System.IO.IOException or TimeoutException or InvalidOperationException)
            {
                Log.ListenFailed(_logger, ex, Owner, _options.PollInterval);
                await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>
    /// Claims the commands sent for the deployments this instance owns (one, or all) and runs them off the ownership loop
    /// (a destroy may take long; renewals must not wait): one deployment's commands one after another, in the order sent.
    /// </summary>
    private async Task PickUpCommandsAsync(string? deploymentId, CancellationToken cancellationToken)
    {
        var claimed = await _commands.ClaimAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        foreach (var group in claimed.GroupBy(c => c.Command.DeploymentId, StringComparer.Ordinal))
        {
            Task run;
            using (ExecutionContext.SuppressFlow())
            {
                run = Task.Run(() => RunCommandsAsync([.. group], _stopping.Token), CancellationToken.None);
            }

            _runningCommands[run] = true;
            _ = run.ContinueWith(static (t, state) => ((System.Collections.Concurrent.ConcurrentDictionary<Task, bool>)state!).TryRemove(t, out _), _runningCommands, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task RunCommandsAsync(IReadOnlyList<PostgreSqlCommands.Claimed> commands, CancellationToken cancellationToken)
    {
        foreach (var (id, command) in commands)
        {
            OrchestrationException? error = null;
            try
            {
                await _host!.ExecuteCommandAsync(command, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping: no outcome written; the next owner (a higher fencing token) runs it.
                return;
            }
            catch (OrchestrationException ex)
            {
                error = ex;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                error = new OrchestrationException(OrchestrationErrorKind.Unknown, $"The {command.Verb} command on deployment '{command.DeploymentId}' failed on its owner {Owner}: {ex.Message}", ex);
            }

            try
            {
                await _commands.CompleteAsync(id, error, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OrchestrationException or OperationCanceledException)
            {
                // The outcome is lost: the sender times out; the command is not run again by this instance.
                Log.CommandFailed(_logger, ex, Owner);
            }
        }
    }

    private async Task ExecuteAsync(string sql, object[] values, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = new NpgsqlCommand(sql, connection);
            foreach (var value in values)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
            }

            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
