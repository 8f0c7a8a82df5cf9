namespace Bpi.Orchestration.Backup;

/// <summary>The manifest of a backup (<c>manifest.json</c> in the zip).</summary>
/// <param name="FormatVersion">The backup format version (<see cref="OrchestrationBackup.FormatVersion"/> when written).</param>
/// <param name="CreatedAt">When the backup was written (from the orchestrator's <see cref="TimeProvider"/>).</param>
/// <param name="SdkVersion">The version of Bpi.Orchestration.Core that wrote it.</param>
/// <param name="Parts">The parts, in the order they were written.</param>
public sealed record BackupManifest(int FormatVersion, DateTimeOffset CreatedAt, string SdkVersion, IReadOnlyList<BackupPartEntry> Parts);

/// <summary>One part in a backup's manifest.</summary>
/// <param name="Name">The part's name (<see cref="IBackupPart.Name"/>).</param>
/// <param name="Length">The content's length in bytes.</param>
/// <param name="Sha256">The lowercase hex SHA-256 of the content.</param>
public sealed record BackupPartEntry(string Name, long Length, string Sha256);

/// <summary>What a restore did.</summary>
/// <param name="Manifest">The restored backup's manifest.</param>
/// <param name="Deployments">Every restored deployment that is not destroyed, compared with what the runtime runs (empty when no runtime was given).</param>
/// <param name="SignedBy">The algorithm and key whose signature was checked, or <see langword="null"/> when an unsigned backup was restored because it was allowed.</param>
public sealed record BackupRestoreReport(BackupManifest Manifest, IReadOnlyList<RestoredDeployment> Deployments, string? SignedBy);

/// <summary>How a restored deployment compares with what the runtime runs.</summary>
/// <param name="Id">The deployment id.</param>
/// <param name="State">Its restored state.</param>
/// <param name="ServingRevision">The revision that served when the backup was written, or <see langword="null"/>.</param>
/// <param name="RunningInstances">How many instances of the serving revision the runtime runs now.</param>
/// <param name="Status">Whether what runs can be adopted.</param>
public sealed record RestoredDeployment(string Id, DeploymentState State, int? ServingRevision, int RunningInstances, RestoredDeploymentStatus Status);

/// <summary>How a restored deployment compares with what the runtime runs.</summary>
public enum RestoredDeploymentStatus
{
    /// <summary>Instances of its serving revision run (an orchestrator that starts adopts them).</summary>
    Running = 0,

    /// <summary>No instance of its serving revision runs now (the runtime lost them, or the state came from another machine).</summary>
    Missing = 1,

    /// <summary>No revision served when the backup was written (a first rollout that had not completed): nothing to adopt.</summary>
    NotServing = 2,
}
