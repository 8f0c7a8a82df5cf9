using System.Globalization;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Cli.Hosting;

/// <summary>
/// Every file the CLI reads from a path a user gives or from the state directory goes through here: only a regular
/// file is opened (a FIFO, device or directory is refused before anything blocks or reads without end), at most the
/// file's documented limit is read, and a failure names the file and what to do (the limits are in the README).
/// </summary>
internal static class InputFiles
{
    /// <summary>The largest config file read (<c>--config</c>, <c>security remediate --file</c>): 1 MiB.</summary>
    public const int MaxConfigBytes = 1024 * 1024;

    /// <summary>The largest authorization policy read: 1 MiB.</summary>
    public const int MaxPolicyBytes = 1024 * 1024;

    /// <summary>The largest key file read (signing key, verifier key, <c>audit verify --key</c>): 64 KiB.</summary>
    public const int MaxKeyBytes = 64 * 1024;

    /// <summary>The largest deployment record read: 16 MiB (the SDK file store's limit).</summary>
    public const int MaxRecordBytes = FileDeploymentStore.MaxRecordBytes;

    /// <summary>The largest lock owner or live status file read: 64 KiB.</summary>
    public const int MaxSmallFileBytes = 64 * 1024;

    /// <summary>
    /// Reads a text file. A missing file is <see cref="ExitCodes.NotFound"/> (6); a directory, FIFO, device or a file
    /// above <paramref name="maxBytes"/> is <see cref="OrchestrationErrorKind.InvalidConfiguration"/> (3); an I/O error
    /// names the file and the OS error.
    /// </summary>
    public static string ReadText(string path, int maxBytes, string what)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new CliException(ExitCodes.UsageError, $"the {what} path is empty; name a file.");
        }

        try
        {
            return BoundedFile.ReadAllText(path, maxBytes, what);
        }
        catch (OrchestrationException ex)
        {
            throw new OrchestrationException(ex.Kind, string.Create(CultureInfo.InvariantCulture, $"{ex.Message} Name a regular file of at most {maxBytes / 1024} KiB."), ex);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CliException(ExitCodes.NotFound, $"the {what} '{path}' does not exist.");
        }
        catch (UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Failed, $"the {what} '{path}' cannot be read: permission denied; check its owner and mode.");
        }
        catch (IOException ex)
        {
            throw new CliException(ExitCodes.Failed, string.Create(CultureInfo.InvariantCulture, $"the {what} '{path}' cannot be read: {ex.Message}"));
        }
    }
}
