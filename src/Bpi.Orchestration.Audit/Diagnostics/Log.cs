using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Audit;

/// <summary>The package's log messages (event ids 5000–5999).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Opened the audit store at {Path} with {Count} entries in {Segments} segment(s) and {Checkpoints} checkpoint(s)")]
    public static partial void StoreOpened(ILogger logger, string path, long count, int segments, int checkpoints);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Recovery truncated a torn tail of {Bytes} byte(s) at offset {Offset} of {File} ({Reason}); no acknowledged entry was in it")]
    public static partial void TornTailTruncated(ILogger logger, string file, long offset, long bytes, string reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Debug, Message = "Signed checkpoint of {Origin} at tree size {TreeSize}, root {RootHash}")]
    public static partial void CheckpointSigned(ILogger logger, string origin, long treeSize, string rootHash);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "The audit store writer failed and the store stopped accepting appends; reopen the store to recover")]
    public static partial void WriterFaulted(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "Started audit segment {File} at sequence {FirstSequence}")]
    public static partial void SegmentStarted(ILogger logger, string file, long firstSequence);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "The audit store at {Path} has no checkpoint signer: it writes no signed checkpoints, so third parties cannot verify it and the loss of its newest entries is not detectable")]
    public static partial void NoCheckpointSigner(ILogger logger, string path);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Recovery removed the empty segment {File} whose header was torn")]
    public static partial void TornSegmentRemoved(ILogger logger, string file);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Warning, Message = "The checkpoint at tree size {TreeSize} could not be published to the witness {Witness}; the newest checkpoint is published again with the next one")]
    public static partial void WitnessFailed(ILogger logger, string witness, long treeSize, Exception exception);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning, Message = "The audit store at {Path} holds {Count} entries after its newest signed checkpoint (tree size {TreeSize}): a crash before they were signed leaves that; they are signed with the next checkpoint")]
    public static partial void UncheckpointedTail(ILogger logger, string path, long count, long treeSize);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Information, Message = "Signed the first checkpoint (tree size 0) of the new audit store at {Path}: from now on a missing checkpoint file is detected")]
    public static partial void GenesisCheckpointSigned(ILogger logger, string path);
}
