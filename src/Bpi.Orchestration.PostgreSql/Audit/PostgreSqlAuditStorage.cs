using System.Runtime.CompilerServices;
using Bpi.Orchestration.Audit;
using Npgsql;
using NpgsqlTypes;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>
/// The audit log's storage on PostgreSQL (through Audit's public <see cref="AuditStorage"/> extension point): one row per entry (its sealed frame), a head row per log (size and last
/// hash) and the signed checkpoints. Several instances append to one chain: the writer locks the head row
/// (<c>SELECT … FOR UPDATE</c>) before it sequences a batch, and the batch's rows, the new head and the commit follow in
/// the same transaction (group commit: every entry queued meanwhile goes into one transaction, written with binary COPY).
/// </summary>
internal sealed class PostgreSqlAuditStorage : AuditStorage
{
    private const int BlockBytes = 1024 * 1024;
    private readonly PostgreSqlDatabase _database;
    private readonly string _log;
    private readonly string _schema;
    private readonly List<(long Sequence, byte[] Frame)> _pending = [];
    private NpgsqlConnection? _writer;
    private NpgsqlTransaction? _transaction;

    public PostgreSqlAuditStorage(PostgreSqlDatabase database, string log)
    {
        _database = database;
        _log = log;
        _schema = database.Schema;
    }

    /// <summary>Creates the log's head row when it is new.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = new NpgsqlCommand($"INSERT INTO {_schema}.audit_head (log, size, last_hash) VALUES ($1, 0, $2) ON CONFLICT (log) DO NOTHING", connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _log });
            command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = new byte[AuditHash.Size] });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override async ValueTask<IReadOnlyList<string>> ReadCheckpointsAsync(CancellationToken cancellationToken)
    {
        var notes = new List<string>();
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = new NpgsqlCommand($"SELECT note FROM {_schema}.audit_checkpoints WHERE log = $1 ORDER BY tree_size", connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _log });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    notes.Add(reader.GetString(0));
                }
            }
        }

        return notes;
    }

    /// <inheritdoc />
    public override bool IsShared => true;

    public override async ValueTask<AuditLogHead?> LockHeadAsync(CancellationToken cancellationToken)
    {
        _writer ??= await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        _transaction = await _writer.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadHeadAsync(_writer, forUpdate: true, cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask<AuditLogHead?> ReadHeadAsync(CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await ReadHeadAsync(connection, forUpdate: false, cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Append(long sequence, ReadOnlySpan<byte> frame) => _pending.Add((sequence, frame.ToArray()));

    public override async ValueTask<long> WriteAsync(AuditLogHead head, CancellationToken cancellationToken)
    {
        if (_transaction is null || _writer is null)
        {
            throw new InvalidOperationException("WriteAsync without LockHeadAsync.");
        }

        try
        {
            var copy = await _writer.BeginBinaryImportAsync($"COPY {_schema}.audit_entries (log, sequence, frame) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
            await using (copy.ConfigureAwait(false))
            {
                foreach (var (sequence, frame) in _pending)
                {
                    await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                    await copy.WriteAsync(_log, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    await copy.WriteAsync(sequence, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                    await copy.WriteAsync(frame, NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
                }

                await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            using (var command = new NpgsqlCommand($"UPDATE {_schema}.audit_head SET size = $2, last_hash = $3 WHERE log = $1", _writer, _transaction))
            {
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _log });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = head.Size });
                command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = head.LastEntryHash.ToArray() });
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await _transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw new AuditStoreException($"The audit batch of {_pending.Count} entries could not be committed to PostgreSQL ({ex.Message}); none of them is stored.", ex);
        }
        finally
        {
            await _transaction.DisposeAsync().ConfigureAwait(false);
            _transaction = null;
            _pending.Clear();
        }

        // PostgreSQL's commit is the durability point: Sync (the default, nothing) has nothing left to do.
        return head.Size;
    }

    public override async ValueTask WriteCheckpointAsync(SignedCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // Two instances may sign the same size (each signature is valid); the first one stored is kept.
            using var command = new NpgsqlCommand($"INSERT INTO {_schema}.audit_checkpoints (log, tree_size, note) VALUES ($1, $2, $3) ON CONFLICT (log, tree_size) DO NOTHING", connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _log });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpoint.TreeSize });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = checkpoint.NoteText });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override async IAsyncEnumerable<AuditFrameBlock> ReadFramesAsync(long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = new NpgsqlCommand($"SELECT sequence, frame FROM {_schema}.audit_entries WHERE log = $1 AND sequence >= $2 AND sequence < $3 ORDER BY sequence", connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _log });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = to });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                var frames = new List<byte[]>();
                long bytes = 0;
                var first = from;
                var expected = from;
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var sequence = reader.GetInt64(0);
                    if (sequence != expected)
                    {
                        throw new AuditStoreException($"Entry {expected} of audit log '{_log}' is missing from the database: it was deleted. Stop every instance and verify the log.");
                    }

                    var frame = (byte[])reader.GetValue(1);
                    if (bytes > 0 && bytes + frame.Length > BlockBytes)
                    {
                        yield return Block(frames, bytes, first);
                        first = sequence;
                        frames.Clear();
                        bytes = 0;
                    }

                    frames.Add(frame);
                    bytes += frame.Length;
                    expected++;
                }

                if (expected != to)
                {
                    throw new AuditStoreException($"Entry {expected} of audit log '{_log}' is missing from the database: it was deleted. Stop every instance and verify the log.");
                }

                if (frames.Count > 0)
                {
                    yield return Block(frames, bytes, first);
                }
            }
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (_transaction is not null)
        {
            await _transaction.DisposeAsync().ConfigureAwait(false);
        }

        if (_writer is not null)
        {
            await _writer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<AuditLogHead> ReadHeadAsync(NpgsqlConnection connection, bool forUpdate, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand($"SELECT size, last_hash FROM {_schema}.audit_head WHERE log = $1{(forUpdate ? " FOR UPDATE" : "")}", connection, forUpdate ? _transaction : null);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _log });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new AuditStoreException($"The head row of audit log '{_log}' is missing from the database: it was deleted. Stop every instance and verify the log.");
            }

            return new AuditLogHead(reader.GetInt64(0), new AuditHash((byte[])reader.GetValue(1)));
        }
    }

    private static AuditFrameBlock Block(List<byte[]> frames, long bytes, long first)
    {
        var buffer = new byte[bytes];
        var position = 0;
        foreach (var frame in frames)
        {
            frame.CopyTo(buffer, position);
            position += frame.Length;
        }

        return new AuditFrameBlock(buffer, buffer.Length, first, frames.Count);
    }
}
