using System.Text.Json;
using System.Text.Json.Serialization;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Nginx;

/// <summary>What CueNginx remembers across orchestrator restarts: the nginx master it runs and the routes in force.</summary>
internal sealed record NginxStateDocument
{
    public int Version { get; init; } = 1;

    /// <summary>The master's pid; 0 when nginx is not running.</summary>
    public int MasterPid { get; init; }

    /// <summary>The master's start time as <see cref="Processes.OsProcesses"/> reads it; with the pid it identifies the process.</summary>
    public long MasterStartTicks { get; init; }

    /// <summary>The generation of the config in force.</summary>
    public long Generation { get; init; }

    /// <summary>The services in force, with the port nginx listens on for each.</summary>
    public List<NginxServiceRecord> Services { get; init; } = [];
}

/// <summary>One service in force.</summary>
internal sealed record NginxServiceRecord(TrafficRoute Route, int Port);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(NginxStateDocument))]
internal sealed partial class NginxStateJsonContext : JsonSerializerContext;

/// <summary>Reads and atomically rewrites <c>cue-nginx.json</c> in the state directory.</summary>
internal sealed class NginxStateFile(string directory)
{
    public const string FileName = "cue-nginx.json";

    public string Path { get; } = System.IO.Path.Combine(directory, FileName);

    /// <summary>Reads the state; a missing file is empty, a corrupt one is moved aside (<c>.corrupt</c>) and reported through <paramref name="corrupt"/>.</summary>
    public NginxStateDocument Read(Action<Exception> corrupt)
    {
        if (!File.Exists(Path))
        {
            return new NginxStateDocument();
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(Path), NginxStateJsonContext.Default.NginxStateDocument) ?? new NginxStateDocument();
        }
        catch (JsonException ex)
        {
            corrupt(ex);
            File.Move(Path, Path + ".corrupt", overwrite: true);
            return new NginxStateDocument();
        }
    }

    /// <summary>Writes the state to a temporary file, flushes it, and renames it over the state file.</summary>
    public void Write(NginxStateDocument document)
    {
        var temp = Path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, document, NginxStateJsonContext.Default.NginxStateDocument);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, Path, overwrite: true);
    }
}
