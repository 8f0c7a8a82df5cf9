using System.Text.Json;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Cli.Hosting;

/// <summary>
/// The CLI's durable deployment store: one JSON file per deployment, replaced atomically (temporary file, flush, rename),
/// owner-only, in <see cref="FileDeploymentStore"/>'s format (<see cref="DeploymentJson"/>). Beyond that store it closes:
/// once the command releases the state directory, a late save of its stopping orchestrator is refused instead of
/// overwriting what the next command writes, and each writer uses a temporary file of its own.
/// </summary>
internal sealed class CliDeploymentStore : IDeploymentStore
{
    private const string Extension = ".json";
    private readonly string _directory;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (long Version, long FencingToken)> _stored = new(StringComparer.Ordinal);
    private bool _closed;

    public CliDeploymentStore(string directory)
    {
        _directory = Path.GetFullPath(directory);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(_directory);
        }
        else
        {
            Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>The serializer options: <see cref="DeploymentJson.Options"/>, the format of <see cref="FileDeploymentStore"/>.</summary>
    public static JsonSerializerOptions JsonOptions => DeploymentJson.Options;

    public async ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var path = PathFor(record.Id);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closed)
            {
                // A late state toggle of a stopped orchestrator (a wait ending because the orchestrator stopped) must
                // not overwrite what the next process on this state directory writes; the stored cursor is what counts.
                throw new OrchestrationException(OrchestrationErrorKind.NotRunning, $"The deployment store of this command is closed; '{record.Id}' was not saved.");
            }

            // The write rule of every store (version and fencing token); the stored values are read from the file once.
            if (!_stored.TryGetValue(record.Id, out var stored))
            {
                var current = await GetAsync(record.Id, cancellationToken).ConfigureAwait(false);
                stored = (current?.Version ?? 0, current?.FencingToken ?? 0);
            }

            DeploymentStoreWrites.EnsureCanReplace(record, stored.Version, stored.FencingToken);
            var version = record.Version + 1;
            var bytes = JsonSerializer.SerializeToUtf8Bytes(record with { Version = version }, JsonOptions);

            // A temporary name of its own, so a writer in another process never moves this one's half-written file.
            var temporary = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{path}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            await using (var stream = new FileStream(temporary, options))
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
            _gate.Release();
        }
    }

    /// <summary>Waits for a save in progress, then refuses every later one (the state directory is about to be released).</summary>
    public async Task CloseAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        _closed = true;
        _gate.Release();
    }

    /// <summary>
    /// The record files the last <see cref="ListAsync"/> skipped because they could not be read (file name → why). One
    /// damaged file must not block every other deployment: the list holds the readable records, and the commands say
    /// which files were skipped.
    /// </summary>
    public IReadOnlyDictionary<string, string> Unreadable { get; private set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathFor(id);
        try
        {
            return new ValueTask<DeploymentRecord?>(Read(path));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new ValueTask<DeploymentRecord?>((DeploymentRecord?)null);
        }
    }

    public ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var records = new List<DeploymentRecord>();
        var unreadable = new Dictionary<string, string>(StringComparer.Ordinal);
        // Every entry named *.json, directories included: a directory where a record belongs is reported, not passed over.
        foreach (var path in Directory.EnumerateFileSystemEntries(_directory, "*" + Extension))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                records.Add(Read(path));
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                // Deleted while listing.
            }
            catch (Exception ex) when (ex is OrchestrationException or IOException or UnauthorizedAccessException)
            {
                unreadable[Path.GetFileName(path)] = ex.Message;
            }
        }

        Unreadable = unreadable;
        return new ValueTask<IReadOnlyList<DeploymentRecord>>(records);
    }

    public async ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var path = PathFor(id);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            File.Delete(path);
            _stored[id] = (0, 0);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Reads one record: a regular file of at most 16 MiB holding a well-formed record, else an error that names the file.</summary>
    private static DeploymentRecord Read(string path)
    {
        try
        {
            return DeploymentJson.Deserialize(BoundedFile.ReadAllBytes(path, InputFiles.MaxRecordBytes, "deployment record"));
        }
        catch (Exception ex) when (ex is OrchestrationException or UnauthorizedAccessException || (ex is IOException && ex is not FileNotFoundException and not DirectoryNotFoundException))
        {
            var problem = ex.Message.Contains(path, StringComparison.Ordinal) ? ex.Message
                : $"The deployment record '{path}' cannot be read: {(ex is UnauthorizedAccessException ? "permission denied." : ex.Message.Replace("A stored deployment record could not be read: ", "", StringComparison.Ordinal))}";
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"{problem} Repair it from a backup, or move it out of the state directory's deployments/ folder.", ex);
        }
    }

    private string PathFor(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (!DeploymentIds.IsValid(id))
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"'{id}' is not a deployment id (an id is {DeploymentIds.Grammar}); list them with `bpi-orchestration list-deployments`.");
        }

        return Path.Combine(_directory, id + Extension);
    }
}
