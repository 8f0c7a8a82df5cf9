namespace Bpi.Orchestration.Audit;

/// <summary>What every audit store shares: the log's origin, its checkpoint signers and when it signs checkpoints.</summary>
public abstract class AuditStoreOptions
{
    /// <summary>
    /// The log's origin line in every checkpoint: a unique, schema-less URL-like name such as
    /// <c>example.com/deployments/audit</c>. Must be non-empty, one line, without control characters.
    /// </summary>
    /// <value>The default value is <c>bpi-orchestration/audit</c>.</value>
    public string Origin { get; set; } = "bpi-orchestration/audit";

    /// <summary>
    /// The keys that sign checkpoints; every checkpoint carries one signature per signer, so adding the new key before
    /// retiring the old one rotates keys without a gap. With no signer the store writes no checkpoints (and cannot
    /// detect the loss of its newest entries on its own). The store does not dispose the signers.
    /// </summary>
    /// <value>The default value is an empty list.</value>
    public IList<CheckpointSigner> CheckpointSigners { get; } = [];

    /// <summary>
    /// Where every signed checkpoint is also published, outside the store's directory (see
    /// <see cref="IAuditCheckpointWitness"/>): <see cref="FileAuditCheckpointWitness"/> or
    /// <see cref="HttpAuditCheckpointWitness"/>. Publication runs in the background, after the checkpoint is stored; a
    /// failure is logged and the newest checkpoint is published again with the next one. The file store checks the log
    /// against each witness when it opens and refuses a log the witness contradicts (rolled back, rewritten, or
    /// missing checkpoints the witness holds).
    /// </summary>
    /// <value>The default value is an empty list.</value>
    public IList<IAuditCheckpointWitness> Witnesses { get; } = [];

    /// <summary>Sign a checkpoint once this many entries were appended since the last one. 0 turns the count trigger off.</summary>
    /// <value>The default value is 10,000.</value>
    public int CheckpointEveryEntries { get; set; } = 10_000;

    /// <summary>Sign a checkpoint at this interval when entries were appended since the last one. <see cref="TimeSpan.Zero"/> turns the timer off.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest payload one entry may carry, in bytes (at most 16 MiB).</summary>
    /// <value>The default value is 1 MiB (1,048,576).</value>
    public int MaxPayloadBytes { get; set; } = 1024 * 1024;

    /// <summary>The most entries the writer commits together (with one fsync for the file store).</summary>
    /// <value>The default value is 8,192.</value>
    public int MaxBatchEntries { get; set; } = 8192;

    /// <summary>Lists every problem with these options; empty when they are valid.</summary>
    /// <returns>One sentence per problem.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        ValidateCore(errors);
        return errors;
    }

    /// <summary>The start of every problem, naming the options type and a property: "<c>FileAuditStoreOptions.</c>".</summary>
    private protected string P => GetType().Name + ".";

    /// <summary>Throws the <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> listing every problem when these options are invalid.</summary>
    internal void ThrowIfInvalid()
    {
        if (Validate() is { Count: > 0 } errors)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, GetType(), errors);
        }
    }

    /// <summary>Adds every problem of these options to <paramref name="errors"/>, each as "<c>OptionsType.Property: problem; what to do</c>".</summary>
    /// <param name="errors">The list to add to.</param>
    private protected virtual void ValidateCore(List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(Origin))
        {
            errors.Add($"{P}Origin: empty; set a unique log name such as 'example.com/deployments/audit'.");
        }
        else if (Origin.Any(char.IsControl) || Origin != Origin.Trim())
        {
            errors.Add($"{P}Origin: '{Origin}' has control characters or surrounding spaces; use one line without them.");
        }

        for (var i = 0; i < CheckpointSigners.Count; i++)
        {
            if (CheckpointSigners[i] is null)
            {
                errors.Add($"{P}CheckpointSigners[{i}]: null; remove it or set a signer.");
            }
        }

        for (var i = 0; i < Witnesses.Count; i++)
        {
            if (Witnesses[i] is null)
            {
                errors.Add($"{P}Witnesses[{i}]: null; remove it or set a witness.");
            }
        }

        var names = CheckpointSigners.Where(s => s is not null).GroupBy(s => (s.KeyName, s.KeyId)).Where(g => g.Count() > 1);
        foreach (var duplicate in names)
        {
            errors.Add($"{P}CheckpointSigners: the signer '{duplicate.Key.KeyName}' (key id {duplicate.Key.KeyId:x8}) is listed more than once; list each signer once.");
        }

        if (CheckpointEveryEntries < 0)
        {
            errors.Add($"{P}CheckpointEveryEntries: {CheckpointEveryEntries} is negative; use 0 (off) or a positive count.");
        }

        if (CheckpointInterval < TimeSpan.Zero)
        {
            errors.Add($"{P}CheckpointInterval: {CheckpointInterval} is negative; use TimeSpan.Zero (off) or a positive interval.");
        }

        if (MaxPayloadBytes < 0 || MaxPayloadBytes > AuditEntryEncoding.MaxPayloadBytes)
        {
            errors.Add($"{P}MaxPayloadBytes: {MaxPayloadBytes} is out of range; use 0 to {AuditEntryEncoding.MaxPayloadBytes}.");
        }

        if (MaxBatchEntries < 1 || MaxBatchEntries > 1_000_000)
        {
            errors.Add($"{P}MaxBatchEntries: {MaxBatchEntries} is out of range; use 1 to 1,000,000.");
        }
    }
}

/// <summary>Options of <see cref="InMemoryAuditStore"/>.</summary>
public sealed class InMemoryAuditStoreOptions : AuditStoreOptions
{
}

/// <summary>Options of <see cref="FileAuditStore"/>.</summary>
public sealed class FileAuditStoreOptions : AuditStoreOptions
{
    /// <summary>The directory that holds the segment and checkpoint files; created when missing. Required.</summary>
    /// <value>The default value is an empty string (not set).</value>
    public string Path { get; set; } = string.Empty;

    /// <summary>A segment is closed and a new one started once it reaches this size, in bytes (at least 64 KiB).</summary>
    /// <value>The default value is 64 MiB (67,108,864).</value>
    public long SegmentSize { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// The most bytes the writer commits together. Recovery relies on it: at most four written batches await their fsync
    /// at any time, so a damaged tail longer than four batches cannot be a torn write and is reported as corruption
    /// instead of being truncated.
    /// </summary>
    /// <value>The default value is 8 MiB (8,388,608).</value>
    public int MaxBatchBytes { get; set; } = 8 * 1024 * 1024;

    /// <inheritdoc />
    private protected override void ValidateCore(List<string> errors)
    {
        base.ValidateCore(errors);
        if (string.IsNullOrWhiteSpace(Path))
        {
            errors.Add($"{P}Path: empty; set the directory that holds the audit log.");
        }
        else if (Path.IndexOfAny(System.IO.Path.GetInvalidPathChars()) >= 0)
        {
            errors.Add($"{P}Path: '{Path}' contains characters that are not valid in a path; use a valid directory path.");
        }

        else
        {
            var directory = System.IO.Path.GetFullPath(Path).TrimEnd(System.IO.Path.DirectorySeparatorChar) + System.IO.Path.DirectorySeparatorChar;
            foreach (var witness in Witnesses.OfType<FileAuditCheckpointWitness>())
            {
                if (witness.Path.StartsWith(directory, StringComparison.Ordinal))
                {
                    errors.Add($"{P}Witnesses: the witness file {witness.Path} is inside the store directory, where it protects nothing; put it where whoever can write the store cannot.");
                }
            }
        }

        if (SegmentSize < 64 * 1024)
        {
            errors.Add($"{P}SegmentSize: {SegmentSize} is under 65,536 bytes; use 65,536 or more.");
        }

        if (MaxBatchBytes < 64 * 1024)
        {
            errors.Add($"{P}MaxBatchBytes: {MaxBatchBytes} is under 65,536 bytes; use 65,536 or more.");
        }
    }
}
