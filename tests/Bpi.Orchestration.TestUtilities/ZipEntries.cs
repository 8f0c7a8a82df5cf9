using System.IO.Compression;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>Reads and rewrites entries of a zip file (a backup) the way an attacker or a damaged disk would.</summary>
public static class ZipEntries
{
    /// <summary>A copy of <paramref name="zip"/> (from its start), positioned at 0.</summary>
    public static MemoryStream Copy(Stream zip)
    {
        var copy = new MemoryStream();
        zip.Position = 0;
        zip.CopyTo(copy);
        copy.Position = 0;
        zip.Position = 0;
        return copy;
    }

    /// <summary>The bytes of entry <paramref name="name"/>.</summary>
    public static byte[] Read(Stream zip, string name)
    {
        zip.Position = 0;
        using var archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
        var entry = archive.GetEntry(name) ?? throw new InvalidOperationException($"The zip has no entry '{name}'.");
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        zip.Position = 0;
        return buffer.ToArray();
    }

    /// <summary>Replaces entry <paramref name="name"/> with <paramref name="content"/> (<see langword="null"/> deletes it), in place.</summary>
    public static void Write(MemoryStream zip, string name, byte[]? content)
    {
        zip.Position = 0;
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Update, leaveOpen: true))
        {
            archive.GetEntry(name)?.Delete();
            if (content is not null)
            {
                using var stream = archive.CreateEntry(name).Open();
                stream.Write(content);
            }
        }

        zip.Position = 0;
    }
}
