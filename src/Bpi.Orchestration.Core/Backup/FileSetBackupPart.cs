using System.Globalization;
using System.IO.Compression;

namespace Bpi.Orchestration.Backup;

/// <summary>
/// A backup part made of files of one directory, backed up byte for byte as they are stored (key files stay as they are:
/// a sealed key stays sealed). Content: a zip of the files. A restore extracts them next to the directory, runs the
/// part's check on the extracted copy, then moves them into place: the whole directory at once (renamed over the old one)
/// when the part owns it, otherwise file by file, each replaced atomically.
/// </summary>
public sealed class FileSetBackupPart : IBackupPart
{
    private const long MaxFileBytes = 4L * 1024 * 1024 * 1024;
    private readonly string _directory;
    private readonly Func<string, bool> _include;
    private readonly bool _ownsDirectory;
    private readonly Func<string, CancellationToken, ValueTask<IReadOnlyList<string>>>? _verify;

    /// <summary>Creates the part.</summary>
    /// <param name="name">The part's name.</param>
    /// <param name="directory">The directory; only its top-level files are backed up.</param>
    /// <param name="include">Which file names (without directory) belong to the part.</param>
    /// <param name="ownsDirectory">
    /// <see langword="true"/> when the directory holds this part's data only (an audit store's directory): a restore
    /// replaces the whole directory with one rename; <see langword="false"/> when other data lives there too (key files in
    /// a state directory): each file is replaced on its own.
    /// </param>
    /// <param name="verify">Checks a directory holding the extracted files (the audit chain, for example) and returns every problem; <see langword="null"/> for none.</param>
    public FileSetBackupPart(string name, string directory, Func<string, bool> include, bool ownsDirectory, Func<string, CancellationToken, ValueTask<IReadOnlyList<string>>>? verify = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(include);
        Name = name;
        _directory = Path.GetFullPath(directory);
        _include = include;
        _ownsDirectory = ownsDirectory;
        _verify = verify;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public async ValueTask WriteAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        await using (zip.ConfigureAwait(false))
        {
            foreach (var path in Files(_directory))
            {
                var entry = zip.CreateEntry(Path.GetFileName(path), CompressionLevel.NoCompression);
                var target = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using (target.ConfigureAwait(false))
                {
                    var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 81920, FileOptions.Asynchronous);
                    await using (source.ConfigureAwait(false))
                    {
                        await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> VerifyAsync(Stream content, CancellationToken cancellationToken = default)
    {
        var staging = StagingPath("verify");
        try
        {
            var problems = await ExtractAsync(content, staging, cancellationToken).ConfigureAwait(false);
            if (problems.Count == 0 && _verify is not null)
            {
                problems.AddRange(await _verify(staging, cancellationToken).ConfigureAwait(false));
            }

            return problems;
        }
        finally
        {
            DeleteDirectory(staging);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> HasDataAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Directory.Exists(_directory) && Files(_directory).Any());

    /// <inheritdoc />
    public async ValueTask RestoreAsync(Stream content, CancellationToken cancellationToken = default)
    {
        var staging = StagingPath("restore");
        try
        {
            // The copy that is moved into place is the copy that was checked.
            var problems = await ExtractAsync(content, staging, cancellationToken).ConfigureAwait(false);
            if (problems.Count == 0 && _verify is not null)
            {
                problems.AddRange(await _verify(staging, cancellationToken).ConfigureAwait(false));
            }

            if (problems.Count > 0)
            {
                throw new OrchestrationBackupException(BackupRefusal.Damaged, $"The '{Name}' part cannot be restored.", problems);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (_ownsDirectory)
            {
                SwapDirectory(staging);
            }
            else
            {
                CreateDirectory(_directory);
                var restored = new HashSet<string>(StringComparer.Ordinal);
                foreach (var file in Directory.EnumerateFiles(staging))
                {
                    var name = Path.GetFileName(file);
                    File.Move(file, Path.Combine(_directory, name), overwrite: true);
                    restored.Add(name);
                }

                foreach (var stale in Files(_directory).Where(f => !restored.Contains(Path.GetFileName(f))))
                {
                    File.Delete(stale);
                }
            }
        }
        finally
        {
            DeleteDirectory(staging);
        }
    }

    /// <summary>Renames the staged directory over the part's directory (the old one is moved aside first, then deleted).</summary>
    private void SwapDirectory(string staging)
    {
        var parent = Path.GetDirectoryName(_directory)!;
        CreateDirectory(parent);
        string? aside = null;
        if (Directory.Exists(_directory))
        {
            aside = StagingPath("old");
            Directory.Move(_directory, aside);
        }

        Directory.Move(staging, _directory);
        if (aside is not null)
        {
            DeleteDirectory(aside);
        }
    }

    /// <summary>Extracts the part's files into <paramref name="staging"/> (owner-only), listing every entry that is not one of the part's files.</summary>
    private async Task<List<string>> ExtractAsync(Stream content, string staging, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var problems = new List<string>();
        CreateDirectory(staging);
        ZipArchive zip;
        try
        {
            zip = await ZipArchive.CreateAsync(content, ZipArchiveMode.Read, leaveOpen: true, entryNameEncoding: null, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            problems.Add($"The part is not a zip of files: {ex.Message}");
            return problems;
        }

        await using (zip.ConfigureAwait(false))
        {
            foreach (var entry in zip.Entries)
            {
                var name = entry.FullName;
                if (name.Length == 0 || name != Path.GetFileName(name) || name is "." or ".." || !_include(name))
                {
                    problems.Add($"The part holds '{name}', which is not one of its files.");
                    continue;
                }

                if (entry.Length > MaxFileBytes)
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture, $"The file '{name}' is {entry.Length} bytes, more than the limit of {MaxFileBytes}."));
                    continue;
                }

                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                try
                {
                    var source = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
                    await using (source.ConfigureAwait(false))
                    {
                        var target = new FileStream(Path.Combine(staging, name), options);
                        await using (target.ConfigureAwait(false))
                        {
                            await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
                            target.Flush(flushToDisk: true);
                        }
                    }
                }
                catch (InvalidDataException ex)
                {
                    problems.Add($"The file '{name}' is damaged: {ex.Message}");
                }
            }
        }

        return problems;
    }

    private IEnumerable<string> Files(string directory) =>
        Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory).Where(f => _include(Path.GetFileName(f))).Order(StringComparer.Ordinal)
            : [];

    /// <summary>A directory next to the part's directory (same file system, so a rename moves it): never inside it.</summary>
    private string StagingPath(string purpose) =>
        string.Create(CultureInfo.InvariantCulture, $"{_directory.TrimEnd(Path.DirectorySeparatorChar)}.{purpose}-{Environment.ProcessId}-{Guid.NewGuid():N}");

    private static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
