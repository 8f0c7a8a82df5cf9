using System.Globalization;
using Spectre.Console;

namespace Bpi.Orchestration.Cli.Output;

/// <summary>How a followed rollout ended.</summary>
/// <param name="Status">The deployment's status at the end.</param>
/// <param name="WaitingForPerson">The rollout waits for <c>promote</c>, <c>approve</c>/<c>reject</c> or <c>resume</c>.</param>
/// <param name="TimedOut">The <c>--timeout</c> ran out first.</param>
internal sealed record FollowOutcome(DeploymentStatus Status, bool WaitingForPerson, bool TimedOut)
{
    /// <summary>The exit code a command that waited for this rollout returns.</summary>
    public int ExitCode => TimedOut ? ExitCodes.Timeout : WaitingForPerson ? ExitCodes.Success : ExitCodes.For(Status.State);
}

/// <summary>
/// Follows one deployment's rollout until it settles (Running, RolledBack, Failed, Destroyed) or waits for a person.
/// On a terminal: a live progress display (step, progress, traffic weights and ready replicas per component). Otherwise
/// (redirected output, CI, <c>--output json</c>): one plain, timestamped line per event, on stdout — or on stderr with
/// <c>--output json</c>, so stdout holds only the JSON document.
/// </summary>
internal static class RolloutWatcher
{
    /// <summary>Subscribe with <see cref="IOrchestrationVm.WatchAsync"/> before the operation, then call this with the subscription.</summary>
    public static async Task<FollowOutcome> FollowAsync(CliEnvironment env, IOrchestrationVm vm, string deploymentId, IAsyncEnumerable<DeploymentEvent> events, TimeSpan? timeout, bool json, CancellationToken cancellationToken)
    {
        using var timer = timeout is { } t ? new CancellationTokenSource(t, env.Time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        var tracker = new Tracker();
        try
        {
            if (env.Interactive && !json)
            {
                await env.Console.Progress()
                    .AutoClear(false)
                    .HideCompleted(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
                    .StartAsync(async context =>
                    {
                        var steps = context.AddTask("rollout", maxValue: 100);
                        var components = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                        await FollowCoreAsync(vm, deploymentId, events, tracker, async (e, status) =>
                        {
                            if (e is not null && (e.Kind is DeploymentEventKind.StateChanged or DeploymentEventKind.StepFailed or DeploymentEventKind.Intervention || IsPull(e)))
                            {
                                env.Console.MarkupLine($"[grey]{Time(e)}[/] {TerminalText.Markup(Describe(e))}");
                            }

                            steps.Description = TerminalText.Markup($"{status.State} {(status.CurrentStep is { } s ? "step " + s : "")}".Trim());
                            steps.Value = status.Progress;
                            foreach (var c in status.Components)
                            {
                                if (!components.TryGetValue(c.Id, out var task))
                                {
                                    components[c.Id] = task = context.AddTask(c.Id, maxValue: Math.Max(1, c.DesiredReplicas));
                                }

                                var target = status.TargetRevision ?? status.StableRevision;
                                var ready = c.Instances.FirstOrDefault(i => i.Revision == target)?.Running ?? 0;
                                task.MaxValue = Math.Max(1, c.DesiredReplicas);
                                task.Value = Math.Min(ready, c.DesiredReplicas);
                                task.Description = TerminalText.Markup(ComponentLine(c, target));
                            }

                            if (status.State.IsSettled())
                            {
                                steps.Value = 100;
                                foreach (var task in components.Values)
                                {
                                    task.StopTask();
                                }

                                steps.StopTask();
                            }

                            await Task.CompletedTask.ConfigureAwait(false);
                        }, linked.Token).ConfigureAwait(false);
                    }).ConfigureAwait(false);
            }
            else
            {
                var writer = json ? env.Error : env.Output;
                await FollowCoreAsync(vm, deploymentId, events, tracker, (e, status) =>
                {
                    if (e is not null)
                    {
                        writer.WriteLine($"{Time(e)}  {Describe(e)}");
                        writer.Flush();
                    }

                    return Task.CompletedTask;
                }, linked.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new FollowOutcome(await vm.GetStatusAsync(deploymentId, cancellationToken).ConfigureAwait(false), false, TimedOut: true);
        }

        var final = await vm.GetStatusAsync(deploymentId, cancellationToken).ConfigureAwait(false);

        // A status read answers within a second from the last runtime answer when the engine is slower (a busy Docker
        // engine listing containers that are still being removed): the plan just ended, so wait a little for the
        // runtime's own answer rather than print (and judge) instance counts from before the plan's last step.
        for (var attempt = 0; attempt < FreshStatusAttempts && final.State.IsSettled() && final.RuntimeError is not null; attempt++)
        {
            await Task.Delay(FreshStatusPause, env.Time, cancellationToken).ConfigureAwait(false);
            final = await vm.GetStatusAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        }

        return new FollowOutcome(final, !final.State.IsSettled() && tracker.WaitingForPerson, false);
    }

    /// <summary>How often, and how far apart, the final status is read again while it is from an earlier runtime answer (at most ~10 s).</summary>
    private const int FreshStatusAttempts = 20;

    private static readonly TimeSpan FreshStatusPause = TimeSpan.FromMilliseconds(500);

    /// <summary>Renders a one-line summary of the traffic and readiness of a component.</summary>
    public static string ComponentLine(ComponentStatus c, int? target)
    {
        var weights = c.TrafficWeights.Count == 0 ? "no route yet" : string.Join(" / ", c.TrafficWeights.OrderBy(w => w.Key).Select(w => string.Create(CultureInfo.InvariantCulture, $"r{w.Key} {w.Value}%")));
        var ready = string.Join(", ", c.Instances.Select(i => string.Create(CultureInfo.InvariantCulture, $"r{i.Revision} {i.Running}/{(i.Revision == target ? c.DesiredReplicas : i.Total)} ready")));
        return $"{c.Id}: traffic {weights}; {(ready.Length == 0 ? "no instances" : ready)}";
    }

    private static async Task FollowCoreAsync(IOrchestrationVm vm, string deploymentId, IAsyncEnumerable<DeploymentEvent> events, Tracker tracker, Func<DeploymentEvent?, DeploymentStatus, Task> render, CancellationToken cancellationToken)
    {
        var status = await vm.GetStatusAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        await render(null, status).ConfigureAwait(false);
        if (status.State.IsSettled())
        {
            return;
        }

        // The subscription was made before the operation, so it may replay events from before it (a pause that the
        // operation just ended, say). "Waits for a person" is therefore only concluded when no event is buffered any more.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var enumerator = events.GetAsyncEnumerator(stop.Token);
        var pending = enumerator.MoveNextAsync();
        try
        {
            while (true)
            {
                if (!pending.IsCompleted && tracker.WaitingForPerson && status.State == DeploymentState.Paused)
                {
                    return;
                }

                if (!await pending.ConfigureAwait(false))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return;
                }

                var e = enumerator.Current;
                tracker.Observe(e);
                status = await vm.GetStatusAsync(deploymentId, cancellationToken).ConfigureAwait(false);
                await render(e, status).ConfigureAwait(false);
                if (e.Kind == DeploymentEventKind.StateChanged && e.State.IsSettled())
                {
                    return;
                }

                pending = enumerator.MoveNextAsync();
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped following.
            }

            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Time(DeploymentEvent e) => e.Timestamp.ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>One line for an event, as the plain output prints it.</summary>
    public static string Describe(DeploymentEvent e) => e.Kind switch
    {
        DeploymentEventKind.PlanStarted => $"plan     {e.Message}",
        DeploymentEventKind.StepStarted => string.Create(CultureInfo.InvariantCulture, $"step {e.StepIndex + 1}/{e.TotalSteps} {e.Message}"),
        DeploymentEventKind.StepCompleted => string.Create(CultureInfo.InvariantCulture, $"step {e.StepIndex + 1}/{e.TotalSteps} done"),
        DeploymentEventKind.StepFailed => string.Create(CultureInfo.InvariantCulture, $"step {e.StepIndex + 1}/{e.TotalSteps} FAILED: {e.Message}"),
        DeploymentEventKind.PlanCompleted => $"plan     {e.Message}",
        DeploymentEventKind.StateChanged => $"state    {e.PreviousState} -> {e.State}" + (string.IsNullOrEmpty(e.Message) || e.Message.Contains("->", StringComparison.Ordinal) ? "" : $" ({e.Message})"),
        DeploymentEventKind.Intervention => $"action   {e.Message}",
        _ => $"         {e.Message}",
    };

    /// <summary>Whether an event is an image pull's progress (<c>pull &lt;image&gt;: …</c>), which a terminal shows too.</summary>
    private static bool IsPull(DeploymentEvent e) => e.Kind == DeploymentEventKind.Progress && e.Message.StartsWith("pull ", StringComparison.Ordinal);

    /// <summary>Tells, from the event stream, whether the rollout waits for a person rather than for a timer.</summary>
    private sealed class Tracker
    {
        private string? _stepKind;
        private string? _stepMessage;
        private bool _userPaused;

        public bool WaitingForPerson =>
            _userPaused
            || _stepKind is "await-approval" or "approval-gate"
            || (_stepKind == "pause" && _stepMessage == "pause until promoted");

        public void Observe(DeploymentEvent e)
        {
            switch (e.Kind)
            {
                case DeploymentEventKind.StepStarted:
                    _stepKind = e.StepKind;
                    _stepMessage = e.Message;
                    break;
                case DeploymentEventKind.StepCompleted or DeploymentEventKind.StepFailed:
                    _stepKind = null;
                    break;
                case DeploymentEventKind.Intervention when e.Message.StartsWith("paused by", StringComparison.Ordinal):
                    _userPaused = true;
                    break;
                case DeploymentEventKind.Intervention when e.Message.StartsWith("resumed by", StringComparison.Ordinal)
                                                             || e.Message.StartsWith("promoted by", StringComparison.Ordinal)
                                                             || e.Message.Contains("' approved by", StringComparison.Ordinal)
                                                             || e.Message.Contains("' rejected by", StringComparison.Ordinal)
                                                             || e.Message.StartsWith("aborted by", StringComparison.Ordinal):
                    // The person acted: the wait ends (a gate may need more approvals; its step then starts waiting again).
                    _userPaused = false;
                    _stepKind = null;
                    break;
            }
        }
    }
}
