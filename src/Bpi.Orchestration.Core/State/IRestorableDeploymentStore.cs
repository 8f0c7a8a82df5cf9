namespace Bpi.Orchestration.State;

/// <summary>
/// A deployment store that can replace all of its records at once, atomically: what a restore from a backup needs
/// (<see cref="Backup.DeploymentStoreBackupPart"/>). The file store renames a complete temporary directory into place;
/// the PostgreSQL store replaces its rows in one transaction.
/// </summary>
public interface IRestorableDeploymentStore : IDeploymentStore
{
    /// <summary>
    /// Replaces every stored record with <paramref name="records"/>, all or nothing. Each record is stored as given: its
    /// version is kept and its fencing token is reset to 0 (leases of the restored store start again).
    /// </summary>
    /// <param name="records">The records (unique ids).</param>
    /// <param name="cancellationToken">Cancels the replacement before it commits.</param>
    /// <returns>A task that completes when the records are in place.</returns>
    ValueTask ReplaceAllAsync(IReadOnlyList<DeploymentRecord> records, CancellationToken cancellationToken = default);
}
