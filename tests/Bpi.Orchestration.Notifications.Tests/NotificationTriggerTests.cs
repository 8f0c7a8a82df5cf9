using Bpi.Orchestration.Resilience;

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

    [Fact]
    public void A_breaker_that_opens_or_closes_is_a_trigger_an_opening_alarms_and_each_target_and_state_is_its_own_notification()
    {
        var clock = new Bpi.Orchestration.Testing.ManualTimeProvider();
        var gate = new RuleGate(clock, TimeSpan.FromMinutes(10));
        var rule = new NotificationRule { Name = "breakers", Channels = { "hook" } };
        DeploymentEvent Breaker(string target, CircuitBreakerState state)
            => new(1, clock.GetUtcNow(), "", DeploymentEventKind.CircuitBreakerChanged, DeploymentState.Running, target + " " + state) { CircuitBreaker = new CircuitBreakerStatus(target, state, clock.GetUtcNow(), "engine down", 1) };

        var opened = Breaker("runtime:docker", CircuitBreakerState.Open);
        var halfOpen = Breaker("runtime:docker", CircuitBreakerState.HalfOpen);
        var closed = Breaker("runtime:docker", CircuitBreakerState.Closed);

        Assert.Equal("circuit-breaker.changed", NotificationTriggers.Name(NotificationTriggers.Of(opened)!.Value));
        Assert.Null(NotificationTriggers.Of(halfOpen));
        Assert.Equal(NotificationTrigger.CircuitBreakerChanged, NotificationTriggers.Of(closed));
        Assert.True(NotificationTriggers.IsAlarm(new Notification("1", "breakers", NotificationTrigger.CircuitBreakerChanged, opened)));
        Assert.False(NotificationTriggers.IsAlarm(new Notification("2", "breakers", NotificationTrigger.CircuitBreakerChanged, closed)));

        var trigger = NotificationTrigger.CircuitBreakerChanged;
        Assert.Null(gate.Admit(rule, trigger, opened));
        Assert.Null(gate.Admit(rule, trigger, closed)); // the closing after an opening is news
        Assert.Null(gate.Admit(rule, trigger, Breaker("router:nginx", CircuitBreakerState.Open))); // another target
        Assert.Equal(NotificationTelemetry.Duplicate, gate.Admit(rule, trigger, Breaker("runtime:docker", CircuitBreakerState.Open))); // flapping within the window
    }
}
