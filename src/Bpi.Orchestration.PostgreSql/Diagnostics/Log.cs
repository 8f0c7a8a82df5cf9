using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>The package's log messages (event ids 7000–7999).</summary>
internal static partial class Log
{
    [LoggerMessage(7000, LogLevel.Information, "Instance {Owner} takes part in the shared orchestrator (lease {LeaseDuration}, renewed every {RenewInterval})")]
    public static partial void OwnershipStarted(ILogger logger, string owner, TimeSpan leaseDuration, TimeSpan renewInterval);

    [LoggerMessage(7001, LogLevel.Information, "Instance {Owner} took deployment {DeploymentId} (fencing token {FencingToken})")]
    public static partial void LeaseTaken(ILogger logger, string owner, string deploymentId, long fencingToken);

    [LoggerMessage(7002, LogLevel.Warning, "Instance {Owner} lost deployment {DeploymentId}: its lease could not be renewed; it stopped acting on it")]
    public static partial void LeaseLost(ILogger logger, string owner, string deploymentId);

    [LoggerMessage(7003, LogLevel.Warning, "Instance {Owner}: renewing leases failed; deployments whose lease comes within the safety margin of expiry are given up")]
    public static partial void RenewFailed(ILogger logger, Exception exception, string owner);

    [LoggerMessage(7004, LogLevel.Warning, "Instance {Owner}: looking for deployments to take over failed; tried again in {Delay}")]
    public static partial void PollFailed(ILogger logger, Exception exception, string owner, TimeSpan delay);

    [LoggerMessage(7005, LogLevel.Warning, "Instance {Owner}: the LISTEN connection failed; polling until it reconnects in {Delay}")]
    public static partial void ListenFailed(ILogger logger, Exception exception, string owner, TimeSpan delay);

    [LoggerMessage(7006, LogLevel.Information, "Instance {Owner} released {Count} lease(s) on shutdown")]
    public static partial void Released(ILogger logger, string owner, int count);

    [LoggerMessage(7007, LogLevel.Warning, "Instance {Owner}: processing a deployment command failed")]
    public static partial void CommandFailed(ILogger logger, Exception exception, string owner);
}
