using System.Formats.Tar;
using Bpi.Orchestration.Components.Docker.Engine;
using Docker.DotNet.Models;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>A file written into a container through the engine's archive API.</summary>
/// <param name="Name">The file's name inside the target directory.</param>
/// <param name="Content">Its bytes.</param>
/// <param name="Mode">Its permissions.</param>
internal sealed record DockerContainerFile(string Name, byte[] Content, UnixFileMode Mode);

/// <summary>
/// Sidecar containers: a container that joins another container's network namespace (<c>NetworkMode = container:&lt;id&gt;</c>),
/// so it shares that container's loopback and addresses, gets files through the archive API
/// (<c>PUT /containers/{id}/archive</c>, never environment variables or labels) and runs commands through exec.
/// </summary>
internal static class DockerSidecars
{
    /// <summary>The label naming the container a sidecar belongs to.</summary>
    public const string SidecarOfLabel = Bpi.Orchestration.Runtime.WorkloadLabels.Prefix + "sidecar-of";

    /// <summary>The name of the sidecar of <paramref name="memberName"/>.</summary>
    public static string NameFor(string memberName) => memberName + "-sidecar";

    /// <summary>
    /// Creates (without starting) a sidecar of <paramref name="memberId"/>: all capabilities dropped, no privilege gain,
    /// no restart policy (its member's removal removes it), a small pid limit.
    /// </summary>
    public static async Task<string> CreateAsync(DockerEngine engine, string memberId, string name, string image, IReadOnlyList<string> command, string user, IDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        var request = new CreateContainerParameters
        {
            Name = name,
            Image = image,
            Entrypoint = [.. command.Take(1)],
            Cmd = [.. command.Skip(1)],
            User = user,
            Labels = labels,
            HostConfig = new HostConfig
            {
                NetworkMode = "container:" + memberId,
                CapDrop = ["ALL"],
                SecurityOpt = ["no-new-privileges:true"],
                PidsLimit = 64,
                Memory = 64L * 1024 * 1024,
            },
        };
        var created = await engine.CreateContainerAsync(request, cancellationToken).ConfigureAwait(false);
        return created.ID;
    }

    /// <summary>Writes <paramref name="files"/> into <paramref name="directory"/> (absolute, made when missing) of the container, owned by <paramref name="uid"/>.</summary>
    public static async Task WriteFilesAsync(DockerEngine engine, string containerId, string directory, IReadOnlyList<DockerContainerFile> files, int uid, CancellationToken cancellationToken)
    {
        using var archive = new MemoryStream();
        var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true);
        await using (writer.ConfigureAwait(false))
        {
            var root = directory.Trim('/');
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, root + "/") { Mode = (UnixFileMode)0b111_101_000, Uid = uid, Gid = uid }, cancellationToken).ConfigureAwait(false);
            foreach (var file in files)
            {
                using var data = new MemoryStream(file.Content, writable: false);
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, root + "/" + file.Name) { Mode = file.Mode, Uid = uid, Gid = uid, DataStream = data }, cancellationToken).ConfigureAwait(false);
            }
        }

        archive.Position = 0;
        await engine.CopyToContainerAsync(containerId, "/", archive, cancellationToken).ConfigureAwait(false);
    }
}
