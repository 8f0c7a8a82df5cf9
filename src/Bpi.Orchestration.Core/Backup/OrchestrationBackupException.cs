namespace Bpi.Orchestration.Backup;

/// <summary>Why a restore was refused.</summary>
public enum BackupRefusal
{
    /// <summary>The file is not a backup, a part's SHA-256 does not match the manifest, or a part's own check failed (a broken audit chain).</summary>
    Damaged = 0,

    /// <summary>The backup was written in a newer format than this SDK reads.</summary>
    NewerFormat = 1,

    /// <summary>A store already holds data and the restore was not forced.</summary>
    NotEmpty = 2,

    /// <summary>The backup carries no signature (or no trusted key was given to check it) and unsigned backups were not allowed.</summary>
    Unsigned = 3,

    /// <summary>The backup's signature does not verify with any trusted key: it was rewritten, or signed with another key.</summary>
    SignatureInvalid = 4,
}

/// <summary>A restore was refused before anything was written; <see cref="OrchestrationException.Errors"/> lists every problem.</summary>
public sealed class OrchestrationBackupException : OrchestrationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="refusal">Why the restore was refused.</param>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="errors">Every problem.</param>
    public OrchestrationBackupException(BackupRefusal refusal, string message, IReadOnlyList<string>? errors = null)
        : base(refusal == BackupRefusal.NotEmpty ? OrchestrationErrorKind.Conflict : OrchestrationErrorKind.InvalidConfiguration, message, errors)
    {
        Refusal = refusal;
    }

    /// <summary>Why the restore was refused.</summary>
    public BackupRefusal Refusal { get; }
}
