using System.Collections.Concurrent;
using System.Globalization;

namespace Bpi.Orchestration.State;

/// <summary>
/// A durable <see cref="IDeploymentStore"/>: one JSON file per deployment in a directory, replaced atomically on every
/// save (written to a temporary file, flushed to disk, then renamed over the old one), so a crash leaves either the old
/// or the new record, never a torn one. Files are created readable by the owner only, because specs may carry secret
/// environment values. Saves follow <see cref="DeploymentStoreWrites"/> (version and fencing token, kept in the file).
/// For one orchestrator process at a time; use a database-backed store for several.
/// </summary>
public sealed class FileDeploymentStore : IRestorableDeploymentStore
{
    /// <summary>The largest record file read: 16 MiB. A larger file (or one that is not a regular file) is reported, never read.</summary>
    public const int MaxRecordBytes = 16 * 1024 * 1024;

    private const string Extension = ".json";
    private readonly string _directory;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>The stored version and fencing token of each record this store wrote or checked (read from its file once).</summary>
    private readonly ConcurrentDictionary<string, (long Version, long FencingToken)> _stored = new(StringComparer.Ordinal);

    /// <summary>Opens (and creates, if needed) a store in <paramref name="directory"/>.</summary>
    /// <param name="directory">The directory that holds the records.</param>
    public FileDeploymentStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = Path.GetFullPath(directory);
        CreateOwnerOnlyDirectory(_directory);
    }

    private static void CreateOwnerOnlyDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>The directory that holds the records.</summary>
    public string DirectoryPath => _directory;

    /// <inheritdoc />
    public async ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var path = PathFor(record.Id);
        // A temporary name of its own, so a writer in another process (a second tool on the same directory) never moves
        // this one's half-written file.
        var temporary = string.Create(CultureInfo.InvariantCulture, $"{path}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        var gate = _locks.GetOrAdd(record.Id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_stored.TryGetValue(record.Id, out var stored))
            {
                var current = await GetAsync(record.Id, cancellationToken).ConfigureAwait(false);
                stored = (current?.Version ?? 0, current?.FencingToken ?? 0);
            }

            DeploymentStoreWrites.EnsureCanReplace(record, stored.Version, stored.FencingToken);
            var version = record.Version + 1;
            var bytes = DeploymentJson.Serialize(record with { Version = version });
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            var stream = new FileStream(temporary, options);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            _stored[record.Id] = (version, record.FencingToken);
            return version;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var path = PathFor(id);
        try
        {
            return await ReadAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var records = new List<DeploymentRecord>();
        foreach (var path in Directory.EnumerateFiles(_directory, "*" + Extension))
        {
            try
            {
                records.Add(await ReadAsync(path, cancellationToken).ConfigureAwait(false));
            }
            catch (FileNotFoundException)
            {
                // Deleted while listing.
            }
        }

        return records;
    }

    /// <summary>
    /// Reads every record that can be read and names the files that cannot (damaged, not a regular file, too large,
    /// unreadable, or a directory named like a record), instead of failing on the first: for a tool or host that keeps
    /// the other deployments usable while one file is damaged.
    /// </summary>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>The readable records and, by file name, why each other record file could not be read.</returns>
    public async ValueTask<FileDeploymentStoreScan> ScanAsync(CancellationToken cancellationToken = default)
    {
        var records = new List<DeploymentRecord>();
        var unreadable = new Dictionary<string, string>(StringComparer.Ordinal);
        // Every entry named *.json, directories included: a directory where a record belongs is reported, not passed over.
        foreach (var path in Directory.EnumerateFileSystemEntries(_directory, "*" + Extension))
        {
            try
            {
                records.Add(await ReadAsync(path, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                // Deleted while scanning.
            }
            catch (OrchestrationException ex) when (ex.Kind == OrchestrationErrorKind.InvalidConfiguration)
            {
                unreadable[Path.GetFileName(path)] = ex.Message;
            }
        }

        return new FileDeploymentStoreScan(records, unreadable);
    }

    /// <inheritdoc />
    public async ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var path = PathFor(id);
        var gate = _locks.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            File.Delete(path);
            _stored[id] = (0, 0);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The records are written to a new directory next to the store's (each file flushed to disk), which is then renamed
    /// into place; the old directory is moved aside first and deleted last. No other writer may use the store meanwhile.
    /// </remarks>
    public async ValueTask ReplaceAllAsync(IReadOnlyList<DeploymentRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var staging = string.Create(CultureInfo.InvariantCulture, $"{_directory.TrimEnd(Path.DirectorySeparatorChar)}.restore-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var aside = string.Create(CultureInfo.InvariantCulture, $"{_directory.TrimEnd(Path.DirectorySeparatorChar)}.old-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            CreateOwnerOnlyDirectory(staging);
            foreach (var record in records)
            {
                var path = Path.Combine(staging, Path.GetFileName(PathFor(record.Id)));
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                var stream = new FileStream(path, options);
                await using (stream.ConfigureAwait(false))
                {
                    await stream.WriteAsync(DeploymentJson.Serialize(record with { FencingToken = 0 }), cancellationToken).ConfigureAwait(false);
                    stream.Flush(flushToDisk: true);
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (Directory.Exists(_directory))
            {
                Directory.Move(_directory, aside);
            }

            Directory.Move(staging, _directory);
            _stored.Clear();
        }
        finally
        {
            foreach (var left in new[] { staging, aside })
            {
                if (Directory.Exists(left))
                {
                    Directory.Delete(left, recursive: true);
                }
            }
        }
    }

    /// <summary>
    /// Reads one record file (a regular file of at most <see cref="MaxRecordBytes"/>). A damaged, unreadable or
    /// irregular one is an <see cref="OrchestrationErrorKind.InvalidConfiguration"/> that names the file and what to do.
    /// </summary>
    private static ValueTask<DeploymentRecord> ReadAsync(string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return new ValueTask<DeploymentRecord>(DeploymentJson.Deserialize(BoundedFile.ReadAllBytes(path, MaxRecordBytes, "deployment record")));
        }
        catch (Exception ex) when ((ex is OrchestrationException { Kind: OrchestrationErrorKind.InvalidConfiguration } or UnauthorizedAccessException)
            || (ex is IOException && ex is not FileNotFoundException and not DirectoryNotFoundException))
        {
            const string Prefix = "A stored deployment record could not be read: ";
            var problem = ex.Message.Contains(path, StringComparison.Ordinal) ? ex.Message
                : $"The deployment record '{path}' cannot be read: {(ex is UnauthorizedAccessException ? "permission denied." : ex.Message.Replace(Prefix, "", StringComparison.Ordinal))}";
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"{problem} Repair it from a backup, or move it out of the store's directory.", ex);
        }
    }

    /// <summary>The record file of an id; the id is checked against <see cref="DeploymentIds"/> first, so no path is built from anything else.</summary>
    private string PathFor(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        DeploymentIds.ThrowIfInvalid(id);
        return Path.Combine(_directory, id + Extension);
    }
}

/// <summary>What <see cref="FileDeploymentStore.ScanAsync"/> found.</summary>
public sealed class FileDeploymentStoreScan
{
    /// <summary>Holds what a scan found.</summary>
    /// <param name="records">The records that could be read.</param>
    /// <param name="unreadable">The record files that could not be read, by file name, with why.</param>
    public FileDeploymentStoreScan(IReadOnlyList<DeploymentRecord> records, IReadOnlyDictionary<string, string> unreadable)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(unreadable);
        Records = records;
        Unreadable = unreadable;
    }

    /// <summary>The records that could be read.</summary>
    public IReadOnlyList<DeploymentRecord> Records { get; }

    /// <summary>The record files that could not be read, by file name (<c>web-1a2b3c4d.json</c>), with why.</summary>
    public IReadOnlyDictionary<string, string> Unreadable { get; }
}
