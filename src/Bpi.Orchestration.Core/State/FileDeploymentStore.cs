using System.Collections.Concurrent;

namespace Bpi.Orchestration.State;

/// <summary>
/// A durable <see cref="IDeploymentStore"/>: one JSON file per deployment in a directory, replaced atomically on every
/// save (written to a temporary file, flushed to disk, then renamed over the old one), so a crash leaves either the old
/// or the new record, never a torn one. Files are created readable by the owner only, because specs may carry secret
/// environment values. For one orchestrator process at a time; use a database-backed store for several.
/// </summary>
public sealed class FileDeploymentStore : IDeploymentStore
{
    private const string Extension = ".json";
    private readonly string _directory;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>Opens (and creates, if needed) a store in <paramref name="directory"/>.</summary>
    /// <param name="directory">The directory that holds the records.</param>
    public FileDeploymentStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
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

    /// <summary>The directory that holds the records.</summary>
    public string DirectoryPath => _directory;

    /// <inheritdoc />
    public async ValueTask SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var path = PathFor(record.Id);
        var temporary = path + ".tmp";
        var bytes = DeploymentJson.Serialize(record);
        var gate = _locks.GetOrAdd(record.Id, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
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
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        return DeploymentJson.Deserialize(bytes);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var records = new List<DeploymentRecord>();
        foreach (var path in Directory.EnumerateFiles(_directory, "*" + Extension))
        {
            try
            {
                records.Add(DeploymentJson.Deserialize(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false)));
            }
            catch (FileNotFoundException)
            {
                // Deleted while listing.
            }
        }

        return records;
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        File.Delete(PathFor(id));
        return ValueTask.CompletedTask;
    }

    private string PathFor(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (id.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || id.Contains("..", StringComparison.Ordinal))
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"'{id}' cannot be a deployment id: it contains characters not allowed in a file name.");
        }

        return Path.Combine(_directory, id + Extension);
    }
}
