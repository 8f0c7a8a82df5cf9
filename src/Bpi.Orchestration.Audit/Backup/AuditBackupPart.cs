using Bpi.Orchestration.Backup;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The Audit package's contribution to an orchestrator backup (<see cref="OrchestrationBackup"/>): the <c>audit</c>
/// part holds a <see cref="FileAuditStore"/>'s directory byte for byte — its segments and its signed checkpoints — so
/// a restored trail is the same chain, with the same sequence numbers, timestamps and signatures. Before anything is
/// written a restore runs <see cref="AuditVerifier.VerifyDirectoryAsync(string, CheckpointVerifier?, CancellationToken)"/>
/// on the extracted copy (CRC, encoding, sequence, hash chain, Merkle roots of every checkpoint, and signatures when a
/// verifier is given), then renames that verified copy into place.
/// </summary>
public static class AuditBackupPart
{
    /// <summary>The part's name in a backup.</summary>
    public const string PartName = "audit";

    /// <summary>
    /// Creates the <c>audit</c> part over a file audit store's directory. Back up a store no entry is being appended to
    /// (a closed store, or a host that holds its writers): a record torn by a concurrent append is caught by the restore's
    /// verification, which then refuses the backup.
    /// </summary>
    /// <param name="directory">The store directory (<see cref="FileAuditStoreOptions.Path"/>).</param>
    /// <param name="checkpointVerifier">The trusted public keys the restore checks checkpoint signatures with; <see langword="null"/> checks the chain and roots only.</param>
    /// <returns>The part.</returns>
    public static IBackupPart ForDirectory(string directory, CheckpointVerifier? checkpointVerifier = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        return new FileSetBackupPart(
            PartName,
            directory,
            name => name != FileAuditStorage.LockFileName && !name.EndsWith(".tmp", StringComparison.Ordinal),
            ownsDirectory: true,
            async (extracted, cancellationToken) =>
            {
                var result = await AuditVerifier.VerifyDirectoryAsync(extracted, checkpointVerifier, cancellationToken).ConfigureAwait(false);
                return result.IsValid ? [] : [$"the audit trail does not verify: {result}"];
            });
    }
}

/// <summary>The <c>audit</c> part of the host's file audit store, registered by <c>AddFileAuditStore</c> for <c>AddBackup</c>.</summary>
internal sealed class FileAuditStoreBackupPart(Microsoft.Extensions.Options.IOptions<FileAuditStoreOptions> options) : IBackupPart
{
    private readonly IBackupPart _part = AuditBackupPart.ForDirectory(options.Value.Path);

    public string Name => _part.Name;

    public ValueTask WriteAsync(Stream destination, CancellationToken cancellationToken = default) => _part.WriteAsync(destination, cancellationToken);

    public ValueTask<IReadOnlyList<string>> VerifyAsync(Stream content, CancellationToken cancellationToken = default) => _part.VerifyAsync(content, cancellationToken);

    public ValueTask<bool> HasDataAsync(CancellationToken cancellationToken = default) => _part.HasDataAsync(cancellationToken);

    public ValueTask RestoreAsync(Stream content, CancellationToken cancellationToken = default) => _part.RestoreAsync(content, cancellationToken);
}
