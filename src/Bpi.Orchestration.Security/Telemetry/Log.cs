using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Security.Telemetry;

/// <summary>The package's log messages (event ids 4000–4999). Messages never carry secret values.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "Security gate passed {Target} in {Environment} with score {Score:0.0} and {Findings} finding(s)")]
    public static partial void GatePassed(ILogger logger, string target, string environment, double score, int findings);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Security gate refused {Target} in {Environment} with score {Score:0.0}: {Reasons}")]
    public static partial void GateRefused(ILogger logger, string target, string environment, double score, string reasons);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Re-assessed deployment {DeploymentId} ({Source}): score {Score:0.0}, {Findings} finding(s)")]
    public static partial void Reassessed(ILogger logger, string deploymentId, string source, double score, int findings);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "New security finding on deployment {DeploymentId}: {Finding}")]
    public static partial void FindingDetected(ILogger logger, string deploymentId, string finding);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Security finding {CheckId} on deployment {DeploymentId} is resolved")]
    public static partial void FindingResolved(ILogger logger, string deploymentId, string checkId);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Re-assessment of deployment {DeploymentId} failed; it is tried again at the next interval")]
    public static partial void ReassessmentFailed(ILogger logger, string deploymentId, Exception exception);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Debug, Message = "Authorization: {Actor} {Verb} {Target}: {Outcome} by {Rule}")]
    public static partial void AuthorizationDecided(ILogger logger, string actor, string verb, string target, string outcome, string rule);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "Secret key ring rotated: new active key {KeyId}")]
    public static partial void KeyRotated(ILogger logger, string keyId);

    [LoggerMessage(EventId = 4090, Level = LogLevel.Warning, Message = "The authorization policy has no allow rule ({Rules} rule(s), all deny): every operation will be denied. Add allow rules with ConfigureAuthorization (Rules, PolicyTexts or PolicyJson)")]
    public static partial void PolicyDeniesEverything(ILogger logger, int rules);
}
