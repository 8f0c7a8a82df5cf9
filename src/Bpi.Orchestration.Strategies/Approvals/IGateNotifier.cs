using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Strategies.Approvals;

/// <summary>Told when an approval gate escalates with <see cref="GateEscalation.NotifyAndWait"/> (for example to page someone). Register with <c>builder.AddGateNotifier&lt;T&gt;()</c>.</summary>
public interface IGateNotifier
{
    /// <summary>Notifies that a gate has waited past its timeout.</summary>
    /// <param name="notification">The deployment, gate and who approved so far.</param>
    /// <param name="cancellationToken">Cancels the notification.</param>
    /// <returns>A task that completes when notified.</returns>
    ValueTask NotifyAsync(GateNotification notification, CancellationToken cancellationToken = default);
}

/// <summary>An approval gate waiting past its timeout.</summary>
/// <param name="DeploymentId">The deployment.</param>
/// <param name="Gate">The gate.</param>
/// <param name="Waited">How long it has waited.</param>
/// <param name="ApprovedBy">Who approved so far.</param>
/// <param name="RequestedBy">Who requested the rollout.</param>
public sealed record GateNotification(string DeploymentId, string Gate, TimeSpan Waited, IReadOnlyList<string> ApprovedBy, string RequestedBy);
