namespace Bpi.Orchestration.Notifications.Tests;

public sealed class NotificationTriggerTests
{
    [Theory]
    [InlineData(DeploymentEventKind.StateChanged, DeploymentState.Deploying, DeploymentState.Pending, null, "rollout.started")]
    [InlineData(DeploymentEventKind.StateChanged, DeploymentState.Deploying, DeploymentState.Queued, null, "rollout.started")]
    [InlineData(DeploymentEventKind.StateChanged, DeploymentState.Deploying, DeploymentState.Paused, null, null)] // a resume
    [InlineData(DeploymentEventKind.StateChanged, DeploymentState.Running, DeploymentState.Deploying, null, "rollout.promoted")]
    [InlineData(DeploymentEventKind.StateChanged, DeploymentState.Running, DeploymentState.Paused, null, "rollout.promoted")]
    [InlineData(DeploymentEventKind.StateChanged, DeploymentState.Running, DeploymentState.Pending, null, null)]
    [InlineData(DeploymentEventKind.StateChanged, DeploymentState.RollingBack, DeploymentState.Deploying, null, "rollout.failed")]
    [InlineData(DeploymentEventKind.StateChanged, DeploymentState.Failed, DeploymentState.Deploying, null, "rollout.failed")]
    [InlineData(DeploymentEventKind.StateChanged, DeploymentState.Failed, DeploymentState.RollingBack, null, null)] // reported at RollingBack
    [InlineData(DeploymentEventKind.StateChanged, DeploymentState.RolledBack, DeploymentState.RollingBack, null, "rollout.rolled-back")]
    [InlineData(DeploymentEventKind.StepStarted, DeploymentState.Paused, null, "await-approval", "approval.waiting")]
    [InlineData(DeploymentEventKind.StepStarted, DeploymentState.Deploying, null, "pause", null)]
    [InlineData(DeploymentEventKind.StepCompleted, DeploymentState.Deploying, null, "await-approval", null)]
    [InlineData(DeploymentEventKind.SecurityGateRefused, DeploymentState.Pending, null, null, "security.gate-refused")]
    [InlineData(DeploymentEventKind.CrashLooping, DeploymentState.Running, null, null, "instance.crash-looping")]
    [InlineData(DeploymentEventKind.AuditVerificationFailed, DeploymentState.Running, null, null, "audit.verification-failed")]
    [InlineData(DeploymentEventKind.Progress, DeploymentState.Deploying, null, null, null)]
    [InlineData(DeploymentEventKind.PlanCompleted, DeploymentState.Running, null, null, null)]
    public void Events_map_to_triggers(DeploymentEventKind kind, DeploymentState state, DeploymentState? previous, string? stepKind, string? expected)
    {
        var e = new DeploymentEvent(1, DateTimeOffset.UnixEpoch, "d", kind, state, "m") { PreviousState = previous, StepKind = stepKind };
        Assert.Equal(expected, NotificationTriggers.Of(e) is { } t ? NotificationTriggers.Name(t) : null);
    }
}
