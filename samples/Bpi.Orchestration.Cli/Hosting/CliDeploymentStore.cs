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

    public async ValueTask SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var path = PathFor(record.Id);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(record, JsonOptions);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closed)
            {
                // A late state toggle of a stopped orchestrator (a wait ending because the orchestrator stopped) must
                // not overwrite what the next process on this state directory writes; the stored cursor is what counts.
                throw new OrchestrationException(OrchestrationErrorKind.NotRunning, $"The deployment store of this command is closed; '{record.Id}' was not saved.");
            }

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

    public async ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        try
        {
            return Deserialize(await File.ReadAllBytesAsync(PathFor(id), cancellationToken).ConfigureAwait(false));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    public async ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var records = new List<DeploymentRecord>();
        foreach (var path in Directory.EnumerateFiles(_directory, "*" + Extension))
        {
            try
            {
                records.Add(Deserialize(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false)));
            }
            catch (FileNotFoundException)
            {
                // Deleted while listing.
            }
        }

        return records;
    }

    public ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        File.Delete(PathFor(id));
        return ValueTask.CompletedTask;
    }

    private static DeploymentRecord Deserialize(byte[] bytes)
    {
        try
        {
            return JsonSerializer.Deserialize<DeploymentRecord>(bytes, JsonOptions) ?? throw new JsonException("The document is null.");
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"A stored deployment record could not be read ({ex.Message}); move the file out of the state directory's deployments/ folder.", ex);
        }
    }

    private string PathFor(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (id.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || id.Contains("..", StringComparison.Ordinal))
        {
            throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"'{id}' is not a deployment id; list them with `bpi-orchestration list-deployments`.");
        }

        return Path.Combine(_directory, id + Extension);
    }
}
