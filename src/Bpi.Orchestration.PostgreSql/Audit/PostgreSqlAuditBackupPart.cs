using System.Buffers.Binary;
using System.Data;
using System.Runtime.CompilerServices;
using System.Text;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Backup;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>
/// The <c>postgresql-audit</c> part of a backup: the shared audit log (<see cref="AuditStoreOptions.Origin"/>) — its
/// head, its signed checkpoints and every entry's sealed frame — read in one snapshot and streamed (no entry is held in
/// memory beyond one block). A restore verifies the whole log first with <see cref="AuditVerifier.VerifyFramesAsync"/>
/// (checkpoint signatures with the configured signers' public keys, CRC, encoding, sequence, hash chain, every
/// checkpoint's root, and the head), then writes it into the emptied tables in one transaction (binary COPY).
/// Content: <c>BPIPGAUDIT1\n</c>, the origin, the head (size, last entry hash), the checkpoints, then each frame, all
/// length-prefixed (big-endian).
/// </summary>
internal sealed class PostgreSqlAuditBackupPart : IBackupPart
{
    public const string PartName = "postgresql-audit";
    private const int MaxFrameBytes = 64 * 1024 * 1024;
    private const int MaxNoteBytes = 64 * 1024;
    private const int BlockBytes = 1024 * 1024;
    private static readonly byte[] Magic = "BPIPGAUDIT1\n"u8.ToArray();

    private readonly PostgreSqlDatabase _database;
    private readonly PostgreSqlAuditStoreOptions _options;

    public PostgreSqlAuditBackupPart(PostgreSqlDatabase database, IOptions<PostgreSqlAuditStoreOptions> options)
    {
        _database = database;
        _options = options.Value;
    }

    public string Name => PartName;

    private string Schema => _database.Schema;

    private string Log => _options.Origin;

    public async ValueTask WriteAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One snapshot: entries other instances append meanwhile are not half in the backup.
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var (size, lastHash) = await ReadHeadAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                var notes = new List<string>();
                using (var command = Command($"SELECT note FROM {Schema}.audit_checkpoints WHERE log = $1 AND tree_size <= $2 ORDER BY tree_size", connection, transaction, size))
                {
                    var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            notes.Add(reader.GetString(0));
                        }
                    }
                }

                await destination.WriteAsync(Magic, cancellationToken).ConfigureAwait(false);
                await WriteBlobAsync(destination, Encoding.UTF8.GetBytes(Log), cancellationToken).ConfigureAwait(false);
                var head = new byte[8 + AuditHash.Size];
                BinaryPrimitives.WriteInt64BigEndian(head, size);
                lastHash.CopyTo(head, 8);
                await destination.WriteAsync(head, cancellationToken).ConfigureAwait(false);
                await WriteInt32Async(destination, notes.Count, cancellationToken).ConfigureAwait(false);
                foreach (var note in notes)
                {
                    await WriteBlobAsync(destination, Encoding.UTF8.GetBytes(note), cancellationToken).ConfigureAwait(false);
                }

                using (var command = Command($"SELECT frame FROM {Schema}.audit_entries WHERE log = $1 AND sequence < $2 ORDER BY sequence", connection, transaction, size))
                {
                    var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            await WriteBlobAsync(destination, (byte[])reader.GetValue(0), cancellationToken).ConfigureAwait(false);
                        }
                    }
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask<IReadOnlyList<string>> VerifyAsync(Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        try
        {
            var header = await ReadHeaderAsync(content, cancellationToken).ConfigureAwait(false);
            var problems = new List<string>();
            if (header.Origin != Log)
            {
                problems.Add($"the backup holds the audit log '{header.Origin}', but this host's log is '{Log}' (PostgreSqlAuditStoreOptions.Origin); restore with the same origin.");
                return problems;
            }

            var verifier = _options.CheckpointSigners.Count > 0 ? new CheckpointVerifier(_options.CheckpointSigners.Select(s => s.VerifierKey), Log) : null;
            var result = await AuditVerifier.VerifyFramesAsync(header.Checkpoints, ReadBlocksAsync(content, header.Size, cancellationToken), header.Head, verifier, cancellationToken).ConfigureAwait(false);
            if (!result.IsValid)
            {
                problems.Add($"the audit log does not verify: {result}");
            }

            return problems;
        }
        catch (InvalidDataException ex)
        {
            return [ex.Message];
        }
    }

    public async ValueTask<bool> HasDataAsync(CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = Command($"SELECT EXISTS (SELECT 1 FROM {Schema}.audit_entries WHERE log = $1) OR EXISTS (SELECT 1 FROM {Schema}.audit_checkpoints WHERE log = $1)", connection, null, null);
            return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
    }

    public async ValueTask RestoreAsync(Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var header = await ReadHeaderAsync(content, cancellationToken).ConfigureAwait(false);
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                foreach (var table in new[] { "audit_entries", "audit_checkpoints", "audit_head" })
                {
                    using var delete = Command($"DELETE FROM {Schema}.{table} WHERE log = $1", connection, transaction, null);
                    await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                long written = 0;
                var copy = await connection.BeginBinaryImportAsync($"COPY {Schema}.audit_entries (log, sequence, frame) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
                await using (copy.ConfigureAwait(false))
                {
                    await foreach (var frame in ReadFramesAsync(content, header.Size, cancellationToken).ConfigureAwait(false))
                    {
                        await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                        await copy.WriteAsync(Log, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                        await copy.WriteAsync(written++, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                        await copy.WriteAsync(frame, NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
                    }

                    await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
                }

                foreach (var note in header.Checkpoints)
                {
                    using var insert = Command($"INSERT INTO {Schema}.audit_checkpoints (log, tree_size, note) VALUES ($1, $2, $3) ON CONFLICT (log, tree_size) DO NOTHING", connection, transaction, TreeSizeOf(note));
                    insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = note });
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                using (var head = Command($"INSERT INTO {Schema}.audit_head (log, size, last_hash) VALUES ($1, $2, $3)", connection, transaction, header.Size))
                {
                    head.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = header.Head.LastEntryHash.ToArray() });
                    await head.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The tree size of a checkpoint note (C2SP tlog-checkpoint: origin, tree size, root hash, one per line), verified before the restore.</summary>
    private static long TreeSizeOf(string note)
    {
        var lines = note.Split('\n', 3);
        return lines.Length == 3 && long.TryParse(lines[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size)
            ? size
            : throw new InvalidDataException("A checkpoint of the backup has no tree size; it was checked before, so the file changed during the restore.");
    }

    private NpgsqlCommand Command(string sql, NpgsqlConnection connection, NpgsqlTransaction? transaction, long? number)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Log });
        if (number is { } n)
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = n });
        }

        return command;
    }

    private async Task<(long Size, byte[] LastHash)> ReadHeadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        using var command = Command($"SELECT size, last_hash FROM {Schema}.audit_head WHERE log = $1", connection, transaction, null);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            // A log no instance opened yet is empty.
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ? (reader.GetInt64(0), (byte[])reader.GetValue(1))
                : (0, new byte[AuditHash.Size]);
        }
    }

    private static async Task<Header> ReadHeaderAsync(Stream content, CancellationToken cancellationToken)
    {
        var magic = await ReadExactlyAsync(content, Magic.Length, "its header", cancellationToken).ConfigureAwait(false);
        if (!magic.AsSpan().SequenceEqual(Magic))
        {
            throw new InvalidDataException("the part is not a PostgreSQL audit log (its header is wrong).");
        }

        var origin = Encoding.UTF8.GetString(await ReadBlobAsync(content, MaxNoteBytes, "the origin", cancellationToken).ConfigureAwait(false));
        var head = await ReadExactlyAsync(content, 8 + AuditHash.Size, "the head", cancellationToken).ConfigureAwait(false);
        var size = BinaryPrimitives.ReadInt64BigEndian(head);
        if (size < 0)
        {
            throw new InvalidDataException("the part's head has a negative size.");
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(await ReadExactlyAsync(content, 4, "the checkpoint count", cancellationToken).ConfigureAwait(false));
        if (count < 0)
        {
            throw new InvalidDataException("the part's checkpoint count is negative.");
        }

        var notes = new List<string>();
        for (var i = 0; i < count; i++)
        {
            notes.Add(Encoding.UTF8.GetString(await ReadBlobAsync(content, MaxNoteBytes, $"checkpoint {i}", cancellationToken).ConfigureAwait(false)));
        }

        return new Header(origin, new AuditLogHead(size, new AuditHash(head.AsSpan(8))), notes);
    }

    /// <summary>The frames after the header, exactly <paramref name="size"/> of them.</summary>
    private static async IAsyncEnumerable<byte[]> ReadFramesAsync(Stream content, long size, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (long i = 0; i < size; i++)
        {
            yield return await ReadBlobAsync(content, MaxFrameBytes, $"entry {i}", cancellationToken).ConfigureAwait(false);
        }

        if (await content.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) != 0)
        {
            throw new InvalidDataException($"the part holds more than the {size} entries its head says: entries were added.");
        }
    }

    /// <summary>The frames in blocks of about <see cref="BlockBytes"/>, as the verifier reads them.</summary>
    private static async IAsyncEnumerable<AuditFrameBlock> ReadBlocksAsync(Stream content, long size, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var block = new MemoryStream();
        long first = 0;
        var count = 0;
        long sequence = 0;
        await foreach (var frame in ReadFramesAsync(content, size, cancellationToken).ConfigureAwait(false))
        {
            if (count > 0 && block.Length + frame.Length > BlockBytes)
            {
                yield return new AuditFrameBlock(block.ToArray(), (int)block.Length, first, count);
                block.SetLength(0);
                first = sequence;
                count = 0;
            }

            block.Write(frame);
            count++;
            sequence++;
        }

        if (count > 0)
        {
            yield return new AuditFrameBlock(block.ToArray(), (int)block.Length, first, count);
        }
    }

    private static async Task WriteBlobAsync(Stream destination, byte[] blob, CancellationToken cancellationToken)
    {
        await WriteInt32Async(destination, blob.Length, cancellationToken).ConfigureAwait(false);
        await destination.WriteAsync(blob, cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteInt32Async(Stream destination, int value, CancellationToken cancellationToken)
    {
        var buffer = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buffer, value);
        await destination.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<byte[]> ReadBlobAsync(Stream content, int max, string what, CancellationToken cancellationToken)
    {
        var length = BinaryPrimitives.ReadInt32BigEndian(await ReadExactlyAsync(content, 4, what, cancellationToken).ConfigureAwait(false));
        if (length < 0 || length > max)
        {
            throw new InvalidDataException($"the length of {what} in the part ({length} bytes) is impossible: the part is damaged.");
        }

        return await ReadExactlyAsync(content, length, what, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<byte[]> ReadExactlyAsync(Stream content, int length, string what, CancellationToken cancellationToken)
    {
        var buffer = new byte[length];
        try
        {
            await content.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"the part ends inside {what}: it was cut.");
        }

        return buffer;
    }

    private sealed record Header(string Origin, AuditLogHead Head, IReadOnlyList<string> Checkpoints)
    {
        public long Size => Head.Size;
    }
}
