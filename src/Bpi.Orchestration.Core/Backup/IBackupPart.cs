namespace Bpi.Orchestration.Backup;

/// <summary>
/// One part of an orchestrator backup (deployment records, the audit store, keys as stored …): it writes its content to
/// one stream and checks and restores that content. Packages contribute parts (the Audit package contributes the audit
/// store), so Core does not depend on them; <see cref="OrchestrationBackup"/> puts the parts in one file with a manifest.
/// </summary>
public interface IBackupPart
{
    /// <summary>The part's name in the backup's manifest (lowercase letters, digits and dashes; unique in one backup).</summary>
    string Name { get; }

    /// <summary>Writes the part's content.</summary>
    /// <param name="destination">Where to write it.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the content is written.</returns>
    ValueTask WriteAsync(Stream destination, CancellationToken cancellationToken = default);

    /// <summary>Checks content a <see cref="WriteAsync"/> wrote, without writing anything to the part's store.</summary>
    /// <param name="content">The content.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>Every problem found; empty when the content can be restored.</returns>
    ValueTask<IReadOnlyList<string>> VerifyAsync(Stream content, CancellationToken cancellationToken = default);

    /// <summary>Whether the part's store already holds data (a restore replaces it only when forced).</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns><see langword="true"/> when the store is not empty.</returns>
    ValueTask<bool> HasDataAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the store's data with checked content, atomically (all of it or none: a temporary copy renamed into
    /// place, or one transaction).
    /// </summary>
    /// <param name="content">The content, already checked with <see cref="VerifyAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the restore.</param>
    /// <returns>A task that completes when the content is in place.</returns>
    ValueTask RestoreAsync(Stream content, CancellationToken cancellationToken = default);
}
