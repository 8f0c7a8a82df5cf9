using System.Globalization;

namespace Bpi.Orchestration.State;

/// <summary>
/// The write rule every <see cref="IDeploymentStore"/> keeps (in-memory, file, PostgreSQL), so a store can be shared
/// by several orchestrator instances: optimistic concurrency on <see cref="DeploymentRecord.Version"/> and fencing on
/// <see cref="DeploymentRecord.FencingToken"/>. A store checks it atomically with its write (under its lock, or in the
/// same SQL statement) and uses these errors to say why a write was refused.
/// </summary>
public static class DeploymentStoreWrites
{
    /// <summary>Throws when <paramref name="record"/> may not replace what is stored.</summary>
    /// <param name="record">The record to save.</param>
    /// <param name="storedVersion">The stored record's version; 0 when none is stored.</param>
    /// <param name="storedFencingToken">The stored record's fencing token; 0 when none is stored.</param>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.Conflict"/>: see <see cref="IDeploymentStore.SaveAsync"/>.</exception>
    public static void EnsureCanReplace(DeploymentRecord record, long storedVersion, long storedFencingToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.FencingToken < storedFencingToken)
        {
            throw Fenced(record.Id, record.FencingToken, storedFencingToken);
        }

        if (record.Version != storedVersion)
        {
            throw VersionConflict(record.Id, record.Version, storedVersion);
        }
    }

    /// <summary>The error for a write whose fencing token is below the stored one.</summary>
    /// <param name="id">The deployment id.</param>
    /// <param name="fencingToken">The writer's token.</param>
    /// <param name="storedFencingToken">The stored token.</param>
    /// <returns>The error (<see cref="OrchestrationErrorKind.Conflict"/>).</returns>
    public static OrchestrationException Fenced(string id, long fencingToken, long storedFencingToken)
        => new(OrchestrationErrorKind.Conflict, string.Create(CultureInfo.InvariantCulture, $"The write of deployment '{id}' was refused: another orchestrator instance owns it now (stored fencing token {storedFencingToken}, this write's {fencingToken}). This instance lost the deployment's lease and stops acting on it; the owner continues the rollout."));

    /// <summary>The error for a write whose expected version is not the stored one.</summary>
    /// <param name="id">The deployment id.</param>
    /// <param name="expectedVersion">The version the record was read at (0: new).</param>
    /// <param name="storedVersion">The stored version (0: none).</param>
    /// <returns>The error (<see cref="OrchestrationErrorKind.Conflict"/>).</returns>
    public static OrchestrationException VersionConflict(string id, long expectedVersion, long storedVersion)
        => new(OrchestrationErrorKind.Conflict, expectedVersion == 0
            ? string.Create(CultureInfo.InvariantCulture, $"The deployment '{id}' already exists (stored version {storedVersion}); read it and update it instead of creating it again.")
            : string.Create(CultureInfo.InvariantCulture, $"The deployment '{id}' changed since it was read (read at version {expectedVersion}, stored version {(storedVersion == 0 ? "none: it was deleted" : storedVersion.ToString(CultureInfo.InvariantCulture))}); read it again and retry."));
}
