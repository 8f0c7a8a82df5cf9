using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Bpi.Orchestration.Components.Docker;

namespace Bpi.Orchestration.Cli.Demo;

/// <summary>
/// The demo's SampleService image for Docker, built at demo start without a registry: a root filesystem of
/// <c>/bin/busybox</c> (Debian's busybox-static) imported through the engine's image import, tagged by the hash of what
/// goes into it, so a second demo finds it and imports nothing. It answers like SampleService — <c>/health</c>,
/// <c>/version</c> (<c>SAMPLE_VERSION</c>) and <c>/work</c>, which fails with HTTP 500 at the rate
/// <c>SAMPLE_ERROR_RATE</c> (a random number read from <c>/dev/urandom</c> with <c>od</c>), body
/// <c>ok|error from {version} {hostname}</c> — on port 8080, as nobody, on a read-only root filesystem.
/// </summary>
/// <remarks>
/// busybox <c>nc -ll -e</c> is the server (one forked shell per connection), not busybox <c>httpd</c>: httpd runs
/// CGI scripts only under <c>/cgi-bin/</c>, and the Debian build has no proxy to map <c>/work</c> there, while the demo
/// must query the same paths on both runtimes.
/// </remarks>
internal static class DemoImage
{
    public const string Repository = "bpi-demo/sample-service";
    public const int Port = 8080;
    private const string BusyboxPath = "/bin/busybox";
    private static readonly string[] Applets = ["sh", "nc", "od", "awk"];

    private const string Handler = """
        #!/bin/sh
        # One HTTP/1.1 request per connection (nc -ll forks this script for each): like SampleService.
        read -r method path rest
        cr=$(printf '\r')
        while read -r line; do [ "${line%$cr}" = "" ] && break; done
        status="200 OK"
        case "${path%%\?*}" in
          /health) body="healthy" ;;
          /version) body="$SAMPLE_VERSION $HOSTNAME" ;;
          /work)
            n=$(od -An -N2 -tu2 /dev/urandom)
            if awk -v n="$n" -v r="${SAMPLE_ERROR_RATE:-0}" 'BEGIN { exit !(n / 65536 < r) }'; then
              status="500 Internal Server Error"; body="error from $SAMPLE_VERSION $HOSTNAME"
            else
              body="ok from $SAMPLE_VERSION $HOSTNAME"
            fi ;;
          *) status="404 Not Found"; body="not found" ;;
        esac
        printf 'HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s\n' "$status" $((${#body} + 1)) "$body"

        """;

    private static readonly string[] Changes =
    [
        $"CMD [\"/bin/nc\", \"-ll\", \"-p\", \"{Port}\", \"-e\", \"/bin/sh\", \"/serve.sh\"]",
        $"EXPOSE {Port}/tcp",
        "USER 65534:65534",
    ];

    /// <summary>Why the image cannot be built here, or <see langword="null"/>.</summary>
    public static string? MissingPrerequisite => File.Exists(BusyboxPath) ? null : $"{BusyboxPath}, which is missing; install Debian's busybox-static (apt-get install busybox-static).";

    /// <summary>Imports the image unless the engine has it; returns its reference (<c>bpi-demo/sample-service:1-{hash}</c>).</summary>
    public static async Task<string> EnsureAsync(IDockerImageImporter images, CancellationToken cancellationToken)
    {
        var busybox = await File.ReadAllBytesAsync(BusyboxPath, cancellationToken).ConfigureAwait(false);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(busybox);
        hash.AppendData(Encoding.UTF8.GetBytes(Handler + string.Join('\n', Changes) + string.Join(',', Applets)));
        var tag = "1-" + Convert.ToHexStringLower(hash.GetHashAndReset())[..12];
        var reference = Repository + ":" + tag;
        if (await images.ImageExistsAsync(reference, cancellationToken).ConfigureAwait(false))
        {
            return reference;
        }

        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var directory in new[] { "bin", "etc", "tmp" })
            {
                var mode = directory == "tmp" ? (UnixFileMode)0b111_111_111 | UnixFileMode.StickyBit : (UnixFileMode)0b111_101_101;
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, directory + "/") { Mode = mode }, cancellationToken).ConfigureAwait(false);
            }

            using (var data = new MemoryStream(busybox))
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = (UnixFileMode)0b111_101_101, DataStream = data }, cancellationToken).ConfigureAwait(false);
            }

            foreach (var applet in Applets)
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox", Mode = (UnixFileMode)0b111_111_111 }, cancellationToken).ConfigureAwait(false);
            }

            await WriteFileAsync(writer, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0b110_100_100, cancellationToken).ConfigureAwait(false);
            await WriteFileAsync(writer, "etc/group", "root:x:0:\nnogroup:x:65534:\n", 0b110_100_100, cancellationToken).ConfigureAwait(false);
            await WriteFileAsync(writer, "serve.sh", Handler, 0b111_101_101, cancellationToken).ConfigureAwait(false);
        }

        tar.Position = 0;
        await images.ImportImageAsync(tar, Repository, tag, Changes, cancellationToken).ConfigureAwait(false);
        return reference;
    }

    private static async Task WriteFileAsync(TarWriter writer, string path, string content, int mode, CancellationToken cancellationToken)
    {
        using var data = new MemoryStream(Encoding.UTF8.GetBytes(content));
        await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, path) { Mode = (UnixFileMode)mode, DataStream = data }, cancellationToken).ConfigureAwait(false);
    }
}
