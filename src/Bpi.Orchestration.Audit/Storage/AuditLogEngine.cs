using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The sequencer shared by the file and in-memory stores. Callers encode and validate their entry on their own thread
/// and queue it; one writer loop takes everything queued (up to a batch limit), assigns sequence numbers and previous
/// hashes, hashes and frames each entry, hands the frames to the storage, commits once (one fsync for the whole batch),
/// publishes the new committed size and only then completes the callers' tasks. Checkpoints are signed by the same loop
/// after a commit, by count, by timer or on request.
/// </summary>
internal sealed class AuditLogEngine : IAsyncDisposable
{
    /// <summary>How many written batches may wait for their fsync at once.</summary>
    public const int MaxUnsyncedBatches = 4;

    private readonly Channel<PendingOperation> _queue = Channel.CreateUnbounded<PendingOperation>(
        new UnboundedChannelOptions { SingleReader = false, SingleWriter = false, AllowSynchronousContinuations = false });

    private readonly AuditStoreOptions _options;
    private readonly AuditStorage _storage;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CheckpointSigner[] _signers;
    private readonly int _maxBatchBytes;
    private readonly byte[] _lastHash = new byte[AuditHash.Size];
    private readonly List<SignedCheckpoint> _checkpoints;
    private readonly Channel<CommitUnit> _commits = Channel.CreateUnbounded<CommitUnit>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = false });

    // At most MaxUnsyncedBatches written batches wait for their fsync: this bounds the unacknowledged tail a crash can tear, which
    // recovery relies on (see FileAuditStorage.Open).
    private readonly SemaphoreSlim _unsyncedBatches = new(MaxUnsyncedBatches, MaxUnsyncedBatches);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _writer;
    private readonly Task _syncer;
    private readonly IAuditCheckpointWitness[] _witnesses;
    private readonly Channel<SignedCheckpoint> _toWitnesses = Channel.CreateBounded<SignedCheckpoint>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true });

    private readonly Task _publisher;
    private long _witnessedTreeSize = -1;
    private readonly ITimer? _timer;
    private long _next;
    private long _committed;
    private SignedCheckpoint? _latestCheckpoint;
    private Exception? _fault;
    private int _disposed;

    public AuditLogEngine(
        AuditStoreOptions options,
        AuditStorage storage,
        MerkleTree tree,
        AuditHash lastHash,
        IReadOnlyList<SignedCheckpoint> checkpoints,
        int maxBatchBytes,
        TimeProvider timeProvider,
        ILogger logger)
    {
        _options = options;
        _storage = storage;
        Tree = tree;
        _timeProvider = timeProvider;
        _logger = logger;
        _signers = [.. options.CheckpointSigners];
        _maxBatchBytes = maxBatchBytes;
        lastHash.CopyTo(_lastHash);
        _next = tree.LeafCount;
        _committed = tree.LeafCount;
        _checkpoints = [.. checkpoints];
        _latestCheckpoint = checkpoints.Count > 0 ? checkpoints[^1] : null;
        _witnesses = [.. options.Witnesses];
        _writer = Task.Run(WriterLoopAsync);
        _syncer = Task.Run(SyncerLoopAsync);
        _publisher = _witnesses.Length > 0 ? Task.Run(PublisherLoopAsync) : Task.CompletedTask;
        if (_signers.Length > 0 && options.CheckpointInterval > TimeSpan.Zero)
        {
            _timer = timeProvider.CreateTimer(static state => ((AuditLogEngine)state!)._queue.Writer.TryWrite(PendingOperation.TimerTick), this, options.CheckpointInterval, options.CheckpointInterval);
        }
    }

    public MerkleTree Tree { get; }

    public AuditStorage Storage => _storage;

    public long Count => Volatile.Read(ref _committed);

    public SignedCheckpoint? LatestCheckpoint => Volatile.Read(ref _latestCheckpoint);

    public bool HasSigners => _signers.Length > 0;

    public IReadOnlyList<CheckpointSigner> Signers => _signers;

    public IReadOnlyList<SignedCheckpoint> Checkpoints
    {
        get
        {
            lock (_checkpoints)
            {
                return [.. _checkpoints];
            }
        }
    }

    public TimeProvider TimeProvider => _timeProvider;

    public ValueTask<AuditAppendReceipt> AppendAsync(NewAuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ThrowIfUnavailable();
        var timestamp = entry.Timestamp ?? _timeProvider.GetUtcNow();
        var frame = AuditEntryEncoding.EncodeFrame(entry, timestamp, _options.MaxPayloadBytes, out var length);
        var operation = new PendingOperation(frame, length, timestamp);
        if (!_queue.Writer.TryWrite(operation))
        {
            ArrayPool<byte>.Shared.Return(frame);
            ThrowIfUnavailable();
            throw new AuditStoreException("The audit store is closed; open it again to append.");
        }

        var task = operation.Append!.Task;
        return cancellationToken.CanBeCanceled ? new ValueTask<AuditAppendReceipt>(task.WaitAsync(cancellationToken)) : new ValueTask<AuditAppendReceipt>(task);
    }

    public async ValueTask<SignedCheckpoint> CreateCheckpointAsync(CancellationToken cancellationToken)
    {
        if (_signers.Length == 0)
        {
            throw new AuditStoreException("The store has no checkpoint signer; add one to CheckpointSigners in the store options.");
        }

        ThrowIfUnavailable();
        var operation = PendingOperation.CheckpointRequest();
        if (!_queue.Writer.TryWrite(operation))
        {
            ThrowIfUnavailable();
            throw new AuditStoreException("The audit store is closed; open it again to sign a checkpoint.");
        }

        return await operation.Checkpoint!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// For shared storage: takes in the entries other writers appended since this engine last looked, so
    /// <see cref="Count"/>, reads and proofs cover them. Does nothing more for single-writer storage.
    /// </summary>
    public async ValueTask RefreshAsync(CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        var operation = PendingOperation.RefreshRequest();
        if (!_queue.Writer.TryWrite(operation))
        {
            ThrowIfUnavailable();
            throw new AuditStoreException("The audit store is closed; open it again to read.");
        }

        await operation.Refresh!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Raises the committed size (never lowers it: a catch-up may already have published a later one).</summary>
    private void PublishCommitted(long next)
    {
        var current = Volatile.Read(ref _committed);
        while (next > current)
        {
            var seen = Interlocked.CompareExchange(ref _committed, next, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>
    /// Appends to the tree every entry another writer of shared storage committed after this engine's head: each is
    /// checked (CRC, sequence number, link to the previous hash) as it is taken in, and the result must end at the
    /// shared head's hash. A shared log shorter than what this engine has seen, or one that does not link, stops the
    /// engine: the log was changed behind the writers' backs.
    /// </summary>
    private async ValueTask CatchUpAsync(AuditLogHead head)
    {
        if (head.Size < _next)
        {
            throw new AuditStoreException($"The shared audit log holds {head.Size} entries but this store has already seen {_next}: entries were removed from the database. Stop every instance and verify the log.");
        }

        if (head.Size > _next)
        {
            var leaf = new byte[AuditHash.Size];
            await foreach (var block in _storage.ReadFramesAsync(_next, head.Size, CancellationToken.None).ConfigureAwait(false))
            {
                var position = 0;
                for (var i = 0; i < block.Count; i++)
                {
                    var length = block.Length - position >= RecordFraming.HeaderSize
                        ? RecordFraming.HeaderSize + (long)RecordFraming.ReadLength(block.Buffer.AsSpan(position))
                        : -1;
                    if (length < RecordFraming.HeaderSize || position + length > block.Length)
                    {
                        throw new AuditStoreException($"Entry {_next} of the shared audit log is cut short in the storage: the database was changed. Stop every instance and verify the log.");
                    }

                    var frame = block.Buffer.AsSpan(position, (int)length);
                    var body = frame[RecordFraming.HeaderSize..];
                    if (!RecordFraming.CrcMatches(frame)
                        || AuditEntryEncoding.ReadSequence(body) != _next
                        || !body.Slice(AuditEntryEncoding.PreviousHashOffset, AuditHash.Size).SequenceEqual(_lastHash))
                    {
                        throw new AuditStoreException($"Entry {_next} of the shared audit log does not fit the chain (CRC, sequence number or previous hash): the database was changed. Stop every instance and verify the log.");
                    }

                    RecordFraming.HashEntryInPlace(frame, leaf);
                    Tree.AppendLeaf(leaf);
                    leaf.CopyTo(_lastHash, 0);
                    _next++;
                    position += (int)length;
                }
            }

            if (_next != head.Size)
            {
                throw new AuditStoreException($"The shared audit log's head says {head.Size} entries, but only {_next} could be read.");
            }
        }

        if (!head.LastEntryHash.Equals(new AuditHash(_lastHash)))
        {
            throw new AuditStoreException($"The shared audit log's head hash does not match entry {head.Size - 1}: the database was changed. Stop every instance and verify the log.");
        }

        PublishCommitted(_next);
    }

    private void ThrowIfUnavailable()
    {
        if (Volatile.Read(ref _fault) is { } fault)
        {
            throw new AuditStoreException("The audit store stopped after a write failure and accepts no more appends; dispose it and open it again (recovery keeps every acknowledged entry).", fault);
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new AuditStoreException("The audit store is closed; open it again to append.");
        }
    }

    private async Task WriterLoopAsync()
    {
        var reader = _queue.Reader;
        List<PendingOperation>? batch = null;
        List<PendingOperation>? checkpointRequests = null;
        List<PendingOperation>? refreshes = null;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false) && Volatile.Read(ref _fault) is null)
            {
                batch = new List<PendingOperation>(Math.Clamp(reader.Count, 1, _options.MaxBatchEntries));
                checkpointRequests = null;
                var timerDue = false;
                long bytes = 0;
                while (batch.Count < _options.MaxBatchEntries && bytes < _maxBatchBytes && reader.TryRead(out var operation))
                {
                    if (operation.Append is not null)
                    {
                        batch.Add(operation);
                        bytes += operation.Length;
                    }
                    else if (operation.Checkpoint is not null)
                    {
                        (checkpointRequests ??= []).Add(operation);
                    }
                    else if (operation.Refresh is not null)
                    {
                        (refreshes ??= []).Add(operation);
                    }
                    else
                    {
                        timerDue = true;
                    }
                }

                if (refreshes is not null)
                {
                    // Shared storage: take what other writers appended (no lock), then answer the callers.
                    if (await _storage.ReadHeadAsync(CancellationToken.None).ConfigureAwait(false) is { } head)
                    {
                        await CatchUpAsync(head).ConfigureAwait(false);
                    }

                    foreach (var refresh in refreshes)
                    {
                        refresh.Refresh!.TrySetResult();
                    }

                    refreshes = null;
                }

                long token = 0;
                if (batch.Count > 0)
                {
                    await _unsyncedBatches.WaitAsync(_stopping.Token).ConfigureAwait(false);

                    // Shared storage: the head stays locked until WriteAsync commits, so the batch follows every entry
                    // other writers appended, in one chain.
                    if (await _storage.LockHeadAsync(CancellationToken.None).ConfigureAwait(false) is { } head)
                    {
                        await CatchUpAsync(head).ConfigureAwait(false);
                    }

                    SequenceBatch(batch);
                    token = await _storage.WriteAsync(new AuditLogHead(_next, new AuditHash(_lastHash)), CancellationToken.None).ConfigureAwait(false);
                }

                // The syncer fsyncs and acknowledges while this loop already sequences and writes the next batch.
                _commits.Writer.TryWrite(new CommitUnit(batch, _next, token, checkpointRequests, timerDue, Closing: false, Barrier: null));
                batch = null;
                checkpointRequests = null;
                if (_storage.NeedsRotation)
                {
                    var barrier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _commits.Writer.TryWrite(new CommitUnit(null, _next, 0, null, false, Closing: false, barrier));
                    await barrier.Task.ConfigureAwait(false);
                    await _storage.RotateAsync(_next).ConfigureAwait(false);
                }
            }

            // Closed: the syncer signs what was appended since the last checkpoint, so a truncation of the tail is detectable.
            _commits.Writer.TryWrite(new CommitUnit(null, _next, 0, null, false, Closing: true, null));
        }
        catch (Exception ex)
        {
            // Anything unexpected must still fail the waiting callers instead of leaving them hanging.
            foreach (var refresh in refreshes ?? [])
            {
                refresh.Refresh!.TrySetException(StoppedError(ex));
            }

            Fault(ex, batch, checkpointRequests);
        }
        finally
        {
            _commits.Writer.TryComplete();
        }
    }

    private async Task SyncerLoopAsync()
    {
        var reader = _commits.Reader;
        var units = new List<CommitUnit>();
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                units.Clear();
                while (reader.TryRead(out var unit))
                {
                    units.Add(unit);
                }

                if (Volatile.Read(ref _fault) is not null)
                {
                    FailUnits(units, Volatile.Read(ref _fault)!);
                    continue;
                }

                // One fsync for every batch written since the last one: group commit.
                CommitUnit? lastAppend = null;
                foreach (var unit in units)
                {
                    if (unit.Appends is { Count: > 0 })
                    {
                        lastAppend = unit;
                    }
                }

                if (lastAppend is not null)
                {
                    _storage.Sync(lastAppend.Token);
                    PublishCommitted(lastAppend.Next);
                    foreach (var unit in units)
                    {
                        if (unit.Appends is { Count: > 0 } appends)
                        {
                            CompleteBatch(appends);
                            _unsyncedBatches.Release();
                        }
                    }
                }

                // Checkpoints by count, by timer, on request and on close, all after the commit they cover.
                var requests = units.Where(u => u.CheckpointRequests is not null).SelectMany(u => u.CheckpointRequests!).ToList();
                await CheckpointIfDueAsync(units.Exists(u => u.TimerDue), requests, units.Exists(u => u.Closing)).ConfigureAwait(false);
                foreach (var unit in units)
                {
                    unit.Barrier?.TrySetResult();
                }
            }
        }
        catch (Exception ex)
        {
            Fault(ex, null, null);
            FailUnits(units, ex);
            while (reader.TryRead(out var unit))
            {
                FailUnits([unit], ex);
            }
        }
        finally
        {
            _toWitnesses.Writer.TryComplete();
        }
    }

    /// <summary>
    /// Hands the newest checkpoint to every witness, off the commit path (a slow witness never delays an
    /// acknowledgement). Only the newest matters: an older one still queued is dropped when a newer one is signed.
    /// </summary>
    private async Task PublisherLoopAsync()
    {
        await foreach (var checkpoint in _toWitnesses.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            var all = true;
            foreach (var witness in _witnesses)
            {
                try
                {
                    await witness.PublishAsync(checkpoint, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    all = false;
                    Log.WitnessFailed(_logger, witness.Description, checkpoint.TreeSize, ex);
                }
            }

            if (all)
            {
                Volatile.Write(ref _witnessedTreeSize, checkpoint.TreeSize);
            }
        }
    }

    private void FailUnits(List<CommitUnit> units, Exception cause)
    {
        var error = StoppedError(cause);
        foreach (var unit in units)
        {
            foreach (var operation in unit.Appends ?? [])
            {
                operation.Append!.TrySetException(error);
            }

            foreach (var operation in unit.CheckpointRequests ?? [])
            {
                operation.Checkpoint!.TrySetException(error);
            }

            unit.Barrier?.TrySetException(error);
        }
    }

    private static AuditStoreException StoppedError(Exception cause) =>
        new("The audit store failed to write and stopped; the entry may or may not be stored. Dispose the store and open it again: recovery keeps every acknowledged entry.", cause);

    /// <summary>What the writer hands to the syncer: a written batch (with the storage's sync token) and checkpoint work.</summary>
    private sealed record CommitUnit(
        List<PendingOperation>? Appends,
        long Next,
        long Token,
        List<PendingOperation>? CheckpointRequests,
        bool TimerDue,
        bool Closing,
        TaskCompletionSource? Barrier);

    private void SequenceBatch(List<PendingOperation> batch)
    {
        Span<byte> leaf = stackalloc byte[AuditHash.Size];
        foreach (var operation in batch)
        {
            var frame = operation.Frame.AsSpan(0, operation.Length);
            var sequence = _next++;
            RecordFraming.SealEntry(frame, sequence, _lastHash, leaf);
            _storage.Append(sequence, frame);
            Tree.AppendLeaf(leaf);
            leaf.CopyTo(_lastHash);
            operation.Sequence = sequence;
            operation.Hash = new AuditHash(leaf);
        }
    }

    private static void CompleteBatch(List<PendingOperation> batch)
    {
        foreach (var operation in batch)
        {
            ArrayPool<byte>.Shared.Return(operation.Frame);
            operation.Append!.TrySetResult(new AuditAppendReceipt(operation.Sequence, operation.Timestamp, operation.Hash));
        }
    }

    private async ValueTask CheckpointIfDueAsync(bool timerDue, List<PendingOperation> requests, bool closing = false)
    {
        if (_signers.Length == 0)
        {
            foreach (var request in requests)
            {
                request.Checkpoint!.TrySetException(new AuditStoreException("The store has no checkpoint signer; add one to CheckpointSigners in the store options."));
            }

            return;
        }

        var committed = Volatile.Read(ref _committed);
        var latest = _latestCheckpoint;
        var sinceLast = committed - (latest?.TreeSize ?? 0);
        var due = requests.Count > 0
            || (sinceLast > 0 && (timerDue || closing || (_options.CheckpointEveryEntries > 0 && sinceLast >= _options.CheckpointEveryEntries)));
        if (!due)
        {
            // On close, a newest checkpoint that no witness has confirmed yet (signed by an earlier session that
            // stopped before publishing, or whose publication failed) is published again.
            if (closing && latest is not null && _witnesses.Length > 0 && Volatile.Read(ref _witnessedTreeSize) < latest.TreeSize)
            {
                _toWitnesses.Writer.TryWrite(latest);
            }

            return;
        }

        var checkpoint = latest is not null && latest.TreeSize == committed
            ? latest
            : SignedCheckpoint.Sign(_options.Origin, committed, Tree.Root(committed), _signers);
        if (!ReferenceEquals(checkpoint, latest))
        {
            await _storage.WriteCheckpointAsync(checkpoint, CancellationToken.None).ConfigureAwait(false);
            lock (_checkpoints)
            {
                _checkpoints.Add(checkpoint);
            }

            Volatile.Write(ref _latestCheckpoint, checkpoint);
            Log.CheckpointSigned(_logger, checkpoint.Origin, checkpoint.TreeSize, checkpoint.RootHash.ToString());
        }

        if (_witnesses.Length > 0 && Volatile.Read(ref _witnessedTreeSize) < checkpoint.TreeSize)
        {
            _toWitnesses.Writer.TryWrite(checkpoint);
        }

        foreach (var request in requests)
        {
            request.Checkpoint!.TrySetResult(checkpoint);
        }
    }

    private void Fault(Exception exception, List<PendingOperation>? batch, List<PendingOperation>? checkpointRequests)
    {
        if (Interlocked.CompareExchange(ref _fault, exception, null) is { } first)
        {
            exception = first;
        }
        else
        {
            Log.WriterFaulted(_logger, exception);
        }

        _queue.Writer.TryComplete();
        _stopping.Cancel();
        var error = StoppedError(exception);
        foreach (var operation in batch ?? [])
        {
            operation.Append!.TrySetException(error);
        }

        foreach (var operation in checkpointRequests ?? [])
        {
            operation.Checkpoint!.TrySetException(error);
        }

        while (_queue.Reader.TryRead(out var operation))
        {
            if (operation.Frame is not null)
            {
                ArrayPool<byte>.Shared.Return(operation.Frame);
            }

            operation.Append?.TrySetException(error);
            operation.Checkpoint?.TrySetException(error);
            operation.Refresh?.TrySetException(error);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }

        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        await _syncer.ConfigureAwait(false);
        _toWitnesses.Writer.TryComplete();
        await _publisher.ConfigureAwait(false);
        await _storage.DisposeAsync().ConfigureAwait(false);
        _unsyncedBatches.Dispose();
        _stopping.Dispose();
    }

    /// <summary>One queued append, checkpoint request or timer tick.</summary>
    private sealed class PendingOperation
    {
        public static readonly PendingOperation TimerTick = new();

        public PendingOperation(byte[] frame, int length, DateTimeOffset timestamp)
        {
            Frame = frame;
            Length = length;
            Timestamp = timestamp;
            Append = new TaskCompletionSource<AuditAppendReceipt>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        private PendingOperation()
        {
            Frame = null!;
        }

        public byte[] Frame { get; }

        public int Length { get; }

        public DateTimeOffset Timestamp { get; }

        public long Sequence { get; set; }

        public AuditHash Hash { get; set; }

        public TaskCompletionSource<AuditAppendReceipt>? Append { get; }

        public TaskCompletionSource<SignedCheckpoint>? Checkpoint { get; private init; }

        public TaskCompletionSource? Refresh { get; private init; }

        public static PendingOperation RefreshRequest() =>
            new() { Refresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };

        public static PendingOperation CheckpointRequest() =>
            new() { Checkpoint = new TaskCompletionSource<SignedCheckpoint>(TaskCreationOptions.RunContinuationsAsynchronously) };
    }
}
