using System.Formats.Tar;
using System.Text;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Components.Benchmarks;

/// <summary>The engine, the benchmark image and the revisions every benchmark converges between.</summary>
internal static class BenchmarkEngine
{
    public const string Image = "bpi-bench/busybox:1";
    public const string OwnerId = "bpi-bench";
    public const int Replicas = 10;

    /// <summary>How often "wait until running" re-reads the engine, the same for the SDK and the direct loop.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    public static DockerRuntimeOptions Options(TimeSpan startupCheckWindow) => new()
    {
        StopTimeout = TimeSpan.FromSeconds(5),
        StartupCheckWindow = startupCheckWindow,
    };

    public static DockerEngine CreateClient(DockerRuntimeOptions options) =>
        new(DockerEngineOptions.From(options), TimeProvider.System, NullLogger.Instance);

    public static DockerWorkloadRuntime CreateRuntime(DockerRuntimeOptions options) =>
        new(CreateClient(options), options, TimeProvider.System, NullLogger.Instance, audit: null, ownsClient: true);

    public static WorkloadRevision Revision(string deploymentId, int revision) => new()
    {
        OwnerId = OwnerId,
        DeploymentId = deploymentId,
        DeploymentName = "bench",
        AppId = "bench",
        Environment = "bench",
        Revision = revision,
        Component = new ComponentSpec
        {
            Id = "web",
            Image = Image,
            Replicas = Replicas,
            Ports = [new PortSpec { ContainerPort = 8080 }],
            Environment = new Dictionary<string, string> { ["APP_VERSION"] = "v" + revision },
            Resources = new ComponentResources { CpuCores = 0.1, MemoryMb = 32 },
        },
    };

    /// <summary>Imports the busybox httpd image through the client (no registry is reachable).</summary>
    public static async Task BuildImageAsync(DockerEngine client)
    {
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var directory in new[] { "bin", "tmp", "www" })
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, directory + "/") { Mode = (UnixFileMode)0b111_101_101 });
            }

            await using (var busybox = File.OpenRead("/bin/busybox"))
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = (UnixFileMode)0b111_101_101, DataStream = busybox });
            }

            foreach (var applet in new[] { "sh", "httpd", "wget" })
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox" });
            }

            using var health = new MemoryStream(Encoding.UTF8.GetBytes("ok\n"));
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "www/health") { Mode = (UnixFileMode)0b110_100_100, DataStream = health });
        }

        tar.Position = 0;
        await client.ImportImageAsync(tar, "bpi-bench/busybox", "1", ["CMD [\"/bin/httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]"]);
    }
}
