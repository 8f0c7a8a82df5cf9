namespace Bpi.Orchestration.AspNetCore;

/// <summary>The answer to an operation that started (or queued) a rollout: where to follow it.</summary>
/// <param name="DeploymentId">The deployment.</param>
/// <param name="State">Its state right after the operation.</param>
/// <param name="Revision">The revision being rolled out, when the operation made one.</param>
/// <param name="Location">The status resource to poll.</param>
/// <param name="Events">The server-sent events stream to follow.</param>
internal sealed record OperationAccepted(string DeploymentId, DeploymentState State, int? Revision, string Location, string Events);
