using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bpi.Orchestration.Processes;

/// <summary>What the runtime remembers about one instance across restarts.</summary>
internal sealed record ProcessRecord
{
    public required string InstanceId { get; init; }

    /// <summary>Creation order within the state directory; scale-down removes the highest first.</summary>
    public required long Sequence { get; init; }

    /// <summary>The process id; 0 while the instance is only an intent: recorded (durably) before its process is started, so a runtime killed in between leaves a trace the next one resolves.</summary>
    public required int Pid { get; init; }

    /// <summary>The process's start time as <see cref="OsProcesses"/> reads it; 0 when it could not be read (then the pid is never signalled after a restart).</summary>
    public required long StartTicks { get; init; }

    /// <summary>Whether the process leads its own process group (started through setsid).</summary>
    public bool ProcessGroup { get; init; }

    /// <summary>The <c>bpi.orchestration/*</c> labels (owner, deployment, component, revision, instance, …).</summary>
    public required Dictionary<string, string> Labels { get; init; }

    public List<ProcessPort> Ports { get; init; } = [];

    public required string WorkingDirectory { get; init; }

    /// <summary>Whether the runtime created <see cref="WorkingDirectory"/> (and deletes it with the instance).</summary>
    public bool OwnsWorkingDirectory { get; init; }

    public required DateTimeOffset StartedAt { get; init; }
}

/// <summary>A port allocated to an instance.</summary>
internal sealed record ProcessPort(string Name, int Port, PortProtocol Protocol);

/// <summary>The state file's content.</summary>
internal sealed record ProcessStateDocument
{
    public int Version { get; init; } = 1;

    public List<ProcessRecord> Instances { get; init; } = [];
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ProcessStateDocument))]
[JsonSerializable(typeof(ProcessRecord))]
internal sealed partial class ProcessStateJsonContext : JsonSerializerContext;

/// <summary>Reads and atomically rewrites <c>instances.json</c> in the state directory.</summary>
internal sealed class ProcessStateFile(string directory)
{
    public const string FileName = "instances.json";

    public string Path { get; } = System.IO.Path.Combine(directory, FileName);

    /// <summary>
    /// Reads the records. A missing file is empty (<c>Damaged</c> false); a corrupt one is moved aside (<c>.corrupt</c>),
    /// reported through <paramref name="corrupt"/> and read as empty with <c>Damaged</c> true: the caller rebuilds the
    /// table from the processes' markers. A table that is a directory, or cannot be read, fails closed.
    /// </summary>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the table is a directory or cannot be read.</exception>
    public async Task<(List<ProcessRecord> Records, bool Damaged)> ReadAsync(Action<Exception> corrupt, CancellationToken cancellationToken)
    {
        if (Directory.Exists(Path))
        {
            throw Unreadable("is a directory, not a file", null);
        }

        if (!File.Exists(Path))
        {
            return ([], false);
        }

        try
        {
            var stream = File.OpenRead(Path);
            await using (stream.ConfigureAwait(false))
            {
                var document = await JsonSerializer.DeserializeAsync(stream, ProcessStateJsonContext.Default.ProcessStateDocument, cancellationToken).ConfigureAwait(false);
                if (document?.Instances is not { } instances || instances.Any(r => r is null))
                {
                    throw new JsonException("The document has no list of instance records.");
                }

                return (instances, false);
            }
        }
        catch (JsonException ex)
        {
            corrupt(ex);
            File.Move(Path, Path + ".corrupt", overwrite: true);
            return ([], true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unreadable("cannot be read (" + ex.Message + ")", ex);
        }
    }

    private OrchestrationException Unreadable(string problem, Exception? inner) => new(
        OrchestrationErrorKind.InvalidConfiguration,
        $"The process runtime's table '{Path}' {problem}; no instance was started or stopped. Move it out of the way (the runtime rebuilds the table from the processes it started) or make it readable, then retry.",
        inner);

    /// <summary>Writes the records to a temporary file, flushes it, and renames it over the state file.</summary>
    public async Task WriteAsync(IEnumerable<ProcessRecord> records, CancellationToken cancellationToken)
    {
        var document = new ProcessStateDocument { Instances = [.. records.OrderBy(r => r.Sequence)] };
        var temp = Path + ".tmp";
        var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(stream, document, ProcessStateJsonContext.Default.ProcessStateDocument, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, Path, overwrite: true);
    }
}
