using System.Formats.Tar;
using System.Text;
namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// Builds the test images from Debian's busybox-static with the engine's image import (no registry is reachable); the
/// caller passes the import (the Docker runtime's <c>IDockerImageImporter.ImportImageAsync</c>, or the engine client's). busybox httpd serves <c>/health</c> (static), <c>/cgi-bin/version</c> (prints <c>$APP_VERSION</c>) and
/// <c>/cgi-bin/health</c> (HTTP 500 when <c>FAIL_HEALTH=1</c>).
/// </summary>
public static class TestImages
{
    public const string Repository = "bpi-test/busybox";

    /// <summary>No HEALTHCHECK; runs httpd on port 8080 by default.</summary>
    public const string Plain = Repository + ":plain";

    /// <summary>A HEALTHCHECK (every second) on <c>/cgi-bin/health</c>.</summary>
    public const string WithHealthcheck = Repository + ":healthcheck";

    /// <summary>A HEALTHCHECK that first runs a minute after the start, so a new container stays "starting" for a while.</summary>
    public const string WithSlowHealthcheck = Repository + ":slowcheck";

    public const int HttpPort = 8080;

    private const string BusyboxPath = "/bin/busybox";

    private static readonly string[] Applets = ["sh", "httpd", "sleep", "echo", "cat", "wget", "env", "id", "ls", "printf", "touch", "true", "false", "seq", "kill", "rm", "mkdir", "stat"];

    public static string? MissingPrerequisite => File.Exists(BusyboxPath) ? null : $"{BusyboxPath} is missing; install Debian's busybox-static";

    /// <summary>Imports the three test images through <paramref name="import"/> (root filesystem tar, repository, tag, Dockerfile changes).</summary>
    public static async Task BuildAsync(Func<Stream, string, string, IReadOnlyList<string>, Task> import)
    {
        ArgumentNullException.ThrowIfNull(import);
        using var tar = new MemoryStream();
        await WriteRootFilesystemAsync(tar);
        string[] common = ["CMD [\"/bin/httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]", "EXPOSE 8080/tcp"];
        tar.Position = 0;
        await import(tar, Repository, "plain", common);
        tar.Position = 0;
        await import(tar, Repository, "healthcheck",
            [.. common, "HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD wget -q -O /dev/null http://127.0.0.1:8080/cgi-bin/health"]);
        tar.Position = 0;
        await import(tar, Repository, "slowcheck",
            [.. common, "HEALTHCHECK --interval=60s --timeout=2s CMD wget -q -O /dev/null http://127.0.0.1:8080/health"]);
    }

    private static async Task WriteRootFilesystemAsync(Stream destination)
    {
        await using var writer = new TarWriter(destination, TarEntryFormat.Pax, leaveOpen: true);
        foreach (var directory in new[] { "bin", "etc", "tmp", "www", "www/cgi-bin", "data" })
        {
            var mode = directory is "tmp" or "data" ? (UnixFileMode)0b111_111_111 | UnixFileMode.StickyBit : (UnixFileMode)0b111_101_101;
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, directory + "/") { Mode = mode });
        }

        await using (var busybox = File.OpenRead(BusyboxPath))
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = (UnixFileMode)0b111_101_101, DataStream = busybox });
        }

        foreach (var applet in Applets)
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox", Mode = (UnixFileMode)0b111_111_111 });
        }

        await WriteFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/data:/bin/sh\n", 0b110_100_100);
        await WriteFile("etc/group", "root:x:0:\nnogroup:x:65534:\napp:x:1000:\n", 0b110_100_100);
        await WriteFile("www/health", "ok\n", 0b110_100_100);
        await WriteFile("www/cgi-bin/version", "#!/bin/sh\necho \"Content-Type: text/plain\"\necho \"\"\necho \"version=$APP_VERSION\"\n", 0b111_101_101);
        await WriteFile(
            "www/cgi-bin/health",
            "#!/bin/sh\nif [ \"$FAIL_HEALTH\" = 1 ]; then printf 'HTTP/1.0 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nunhealthy\\n'; exit 0; fi\necho \"Content-Type: text/plain\"\necho \"\"\necho ok\n",
            0b111_101_101);

        async Task WriteFile(string path, string content, int mode)
        {
            using var data = new MemoryStream(Encoding.UTF8.GetBytes(content));
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, path) { Mode = (UnixFileMode)mode, DataStream = data });
        }
    }
}
