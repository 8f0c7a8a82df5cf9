namespace Bpi.Orchestration.Backup;

/// <summary>
/// Backs up the orchestrator's state (every registered <see cref="IBackupPart"/>) to one zip file with a manifest, and
/// restores it: the manifest's hashes and every part's own checks pass before anything is written.
/// </summary>
public interface IOrchestrationBackup
{
    /// <summary>Writes a backup of every part.</summary>
    /// <param name="destination">Where to write the zip.</param>
    /// <param name="cancellationToken">Cancels the backup.</param>
    /// <returns>The backup's manifest.</returns>
    Task<BackupManifest> BackupAsync(Stream destination, CancellationToken cancellationToken = default);

    /// <summary>Writes a backup of every part to a file (a temporary name, flushed to disk, then renamed into place).</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="cancellationToken">Cancels the backup.</param>
    /// <returns>The backup's manifest.</returns>
    Task<BackupManifest> BackupAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Restores a backup: checks its format version, every part's SHA-256 and every part's own checks (the audit chain),
    /// refuses a non-empty store unless <paramref name="force"/>, then restores every part and compares the restored
    /// deployments with what the runtime runs.
    /// </summary>
    /// <param name="source">The zip.</param>
    /// <param name="force">Replace stores that already hold data.</param>
    /// <param name="cancellationToken">Cancels the restore.</param>
    /// <returns>What was restored and how it compares with the runtime.</returns>
    /// <exception cref="OrchestrationBackupException">The backup was refused; nothing was written.</exception>
    Task<BackupRestoreReport> RestoreAsync(Stream source, bool force = false, CancellationToken cancellationToken = default);

    /// <summary>Restores a backup file; see <see cref="RestoreAsync(Stream, bool, CancellationToken)"/>.</summary>
    /// <param name="path">The zip file.</param>
    /// <param name="force">Replace stores that already hold data.</param>
    /// <param name="cancellationToken">Cancels the restore.</param>
    /// <returns>What was restored and how it compares with the runtime.</returns>
    /// <exception cref="OrchestrationBackupException">The backup was refused; nothing was written.</exception>
    Task<BackupRestoreReport> RestoreAsync(string path, bool force = false, CancellationToken cancellationToken = default);
}
