using System.Diagnostics;
using System.Formats.Tar;
using System.Text.RegularExpressions;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// Builds a local nginx image with the stream module for the EncCluster-on-Docker tests (no registry is reachable) with
/// the engine's image import, from the host's Debian packages: <c>/usr/sbin/nginx</c>, <c>libnginx-mod-stream</c>'s
/// module and every shared library <c>ldd</c> lists for the two (installed by <c>.ci/engines/nginx.sh</c>).
/// </summary>
public static partial class NginxStreamTestImage
{
    /// <summary>The image's reference.</summary>
    public const string Reference = "bpi-test/nginx-stream:1";

    /// <summary>The module the configuration must load (<c>load_module</c>).</summary>
    public const string StreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so";

    private const string Nginx = "/usr/sbin/nginx";

    /// <summary>Why the image cannot be built here, or <see langword="null"/>.</summary>
    public static string? MissingPrerequisite =>
        File.Exists(Nginx) && File.Exists(StreamModule) ? null : $"{Nginx} or {StreamModule} is missing; install Debian's nginx and libnginx-mod-stream (.ci/engines/nginx.sh)";

    /// <summary>Imports the image through <paramref name="import"/> (root filesystem tar, repository, tag, Dockerfile changes).</summary>
    public static async Task BuildAsync(Func<Stream, string, string, IReadOnlyList<string>, Task> import)
    {
        ArgumentNullException.ThrowIfNull(import);
        var files = new SortedSet<string>(StringComparer.Ordinal) { Nginx, StreamModule };
        foreach (var binary in new[] { Nginx, StreamModule })
        {
            foreach (var library in await LibrariesAsync(binary))
            {
                files.Add(library);
            }
        }

        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var directories = new SortedSet<string>(StringComparer.Ordinal) { "tmp", "etc" };
            foreach (var file in files)
            {
                for (var directory = Path.GetDirectoryName(file); !string.IsNullOrEmpty(directory) && directory != "/"; directory = Path.GetDirectoryName(directory))
                {
                    directories.Add(directory.TrimStart('/'));
                }
            }

            foreach (var directory in directories)
            {
                var mode = directory == "tmp" ? (UnixFileMode)0b111_111_111 | UnixFileMode.StickyBit : (UnixFileMode)0b111_101_101;
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, directory + "/") { Mode = mode });
            }

            foreach (var file in files)
            {
                // Symbolic links (the loader, merged /usr) are followed: the image holds the real bytes at the listed path.
                await using var content = File.OpenRead(file);
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, file.TrimStart('/')) { Mode = (UnixFileMode)0b111_101_101, DataStream = content });
            }

            using var passwd = new MemoryStream("root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"u8.ToArray());
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "etc/passwd") { Mode = (UnixFileMode)0b110_100_100, DataStream = passwd });
            using var group = new MemoryStream("root:x:0:\nnogroup:x:65534:\n"u8.ToArray());
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "etc/group") { Mode = (UnixFileMode)0b110_100_100, DataStream = group });
        }

        tar.Position = 0;
        var separator = Reference.LastIndexOf(':');
        await import(tar, Reference[..separator], Reference[(separator + 1)..], ["CMD [\"/usr/sbin/nginx\", \"-g\", \"daemon off;\"]"]);
    }

    /// <summary>The absolute paths <c>ldd</c> lists for <paramref name="binary"/> (the loader included).</summary>
    private static async Task<IReadOnlyList<string>> LibrariesAsync(string binary)
    {
        var info = new ProcessStartInfo("ldd") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, ArgumentList = { binary } };
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ldd {binary} exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
        }

        return [.. LibraryPath().Matches(output).Select(m => m.Groups["path"].Value)];
    }

    [GeneratedRegex(@"(?:=>\s*|^\s*)(?<path>/\S+)\s+\(0x", RegexOptions.Multiline)]
    private static partial Regex LibraryPath();
}
