using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bpi.Orchestration.Processes;

/// <summary>What the runtime remembers about one instance across restarts.</summary>
internal sealed record ProcessRecord
{
    public required string InstanceId { get; init; }

    /// <summary>Creation order within the state directory; scale-down removes the highest first.</summary>
    public required long Sequence { get; init; }

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
internal sealed partial class ProcessStateJsonContext : JsonSerializerContext;

/// <summary>Reads and atomically rewrites <c>instances.json</c> in the state directory.</summary>
internal sealed class ProcessStateFile(string directory)
{
    public const string FileName = "instances.json";

    public string Path { get; } = System.IO.Path.Combine(directory, FileName);

    /// <summary>Reads the records; a missing file is empty, a corrupt one is moved aside (<c>.corrupt</c>) and reported through <paramref name="corrupt"/>.</summary>
    public async Task<List<ProcessRecord>> ReadAsync(Action<Exception> corrupt, CancellationToken cancellationToken)
    {
        if (!File.Exists(Path))
        {
            return [];
        }

        try
        {
            var stream = File.OpenRead(Path);
            await using (stream.ConfigureAwait(false))
            {
                var document = await JsonSerializer.DeserializeAsync(stream, ProcessStateJsonContext.Default.ProcessStateDocument, cancellationToken).ConfigureAwait(false);
                return document?.Instances ?? [];
            }
        }
        catch (JsonException ex)
        {
            corrupt(ex);
            File.Move(Path, Path + ".corrupt", overwrite: true);
            return [];
        }
    }

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
