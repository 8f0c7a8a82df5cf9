using System.CommandLine;
using Spectre.Console;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary>
/// Commands that steer one deployment: <c>scale</c>, <c>rollback</c>, <c>pause</c>, <c>resume</c>, <c>abort</c>,
/// <c>promote</c>, <c>approve</c>, <c>reject</c>, <c>destroy</c>. A rollout that an earlier command left waiting (at a
/// pause, a gate, or interrupted) is resumed from its stored cursor when the orchestrator starts, and the operation is
/// applied as soon as the rollout reaches the step it acts on.
/// </summary>
internal static class ControlCommands
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    public static IEnumerable<Command> Create(CommandContextFactory factory)
    {
        yield return Scale(factory);
        yield return Rollback(factory);
        yield return Intervention(factory, "pause", "Pause a running rollout at the next safe point; it stays paused (across commands) until `resume`.",
            async (ctx, host, id, ct) =>
            {
                await RolloutCommandSupport.WhenReadyAsync(host, id, () => host.Vm.PauseAsync(id, ct), Patience, ctx.Env.Time, ct).ConfigureAwait(false);
                host.State.MarkPaused(id, paused: true);
            });
        yield return Intervention(factory, "resume", "Resume a paused rollout where it stopped.",
            async (ctx, host, id, ct) =>
            {
                try
                {
                    await host.Vm.ResumeAsync(id, ct).ConfigureAwait(false);
                }
                catch (OrchestrationException ex) when (ex.Kind == OrchestrationErrorKind.Conflict)
                {
                    // Not paused in this process: an earlier `pause` left only its marker, removed above, so the
                    // resumed rollout already runs. A settled deployment has nothing to resume.
                    if ((await host.Vm.GetStatusAsync(id, ct).ConfigureAwait(false)).State.IsSettled())
                    {
                        throw;
                    }
                }
            },
            before: (state, id) => state.MarkPaused(id, paused: false));
        yield return Intervention(factory, "abort", "Abort a queued or running rollout; it is rolled back to the stable revision (exit 5).",
            (ctx, host, id, ct) => RolloutCommandSupport.WhenReadyAsync(host, id, () => host.Vm.AbortAsync(id, ct), Patience, ctx.Env.Time, ct),
            before: (state, id) => state.MarkPaused(id, paused: false));
        yield return Intervention(factory, "promote", "End the pause a rollout waits at (`pause: {}` in a canary, manual blue-green promotion) so it continues.",
            (ctx, host, id, ct) => RolloutCommandSupport.WhenReadyAsync(host, id, () => host.Vm.PromoteAsync(id, ct), Patience, ctx.Env.Time, ct));
        yield return Decision(factory, approve: true);
        yield return Decision(factory, approve: false);
        yield return Destroy(factory);
    }

    private static Command Scale(CommandContextFactory factory)
    {
        var id = RolloutCommandSupport.DeploymentId();
        var replicas = new Option<int>("--replicas", "-r") { Description = "The new replica count.", Required = true };
        var component = new Option<string?>("--component") { Description = "Only this component (default: every component)." };
        var rollout = new RolloutOptions();
        var command = new Command("scale", "Change the replica count of the serving revision.") { id, replicas, component };
        rollout.AddTo(command);
        replicas.Validators.Add(r =>
        {
            if (r.Tokens is [{ } token, ..] && int.TryParse(token.Value, System.Globalization.CultureInfo.InvariantCulture, out var n) && n < 0)
            {
                r.AddError("--replicas must be zero or more.");
            }
        });
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "scale");
            await using var host = await ctx.OpenHostAsync(ct).ConfigureAwait(false);
            var deploymentId = ctx.Get(id)!;
            return await RolloutCommandSupport.RunAsync(ctx, host, rollout, RolloutTarget.Existing(deploymentId), async () =>
            {
                await host.Vm.ScaleAsync(deploymentId, ctx.Get(replicas), ctx.Get(component), ct).ConfigureAwait(false);
                return deploymentId;
            }, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Rollback(CommandContextFactory factory)
    {
        var id = RolloutCommandSupport.DeploymentId();
        var toRevision = new Option<int?>("--to-revision") { Description = "The retained revision to return to (default: the one before the serving revision)." };
        var rollout = new RolloutOptions();
        var command = new Command("rollback", "Roll out an earlier revision again (as a new revision) with the deployment's strategy.") { id, toRevision };
        rollout.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "rollback");
            await using var host = await ctx.OpenHostAsync(ct).ConfigureAwait(false);
            var deploymentId = ctx.Get(id)!;
            return await RolloutCommandSupport.RunAsync(ctx, host, rollout, RolloutTarget.Existing(deploymentId), async () =>
            {
                var revision = await host.Vm.RollbackAsync(deploymentId, ctx.Get(toRevision), ct).ConfigureAwait(false);
                if (!ctx.Json)
                {
                    ctx.Env.Console.WriteLine($"Rolling back {deploymentId}: revision {revision} runs the earlier spec.");
                }

                return deploymentId;
            }, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Intervention(CommandContextFactory factory, string name, string description, Func<CommandContext, OrchestratorHost, string, CancellationToken, Task> act, Action<StateDirectory, string>? before = null)
    {
        var id = RolloutCommandSupport.DeploymentId();
        var rollout = new RolloutOptions();
        var command = new Command(name, description + " Then follows the rollout like deploy does.") { id };
        rollout.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, name);
            var deploymentId = ctx.Get(id)!;
            await using var host = await OpenForAsync(ctx, deploymentId, before, ct).ConfigureAwait(false);
            return await RolloutCommandSupport.RunAsync(ctx, host, rollout, RolloutTarget.Existing(deploymentId), async () =>
            {
                await act(ctx, host, deploymentId, ct).ConfigureAwait(false);
                return deploymentId;
            }, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Decision(CommandContextFactory factory, bool approve)
    {
        var name = approve ? "approve" : "reject";
        var id = RolloutCommandSupport.DeploymentId();
        var gate = new Option<string>("--gate", "-g") { Description = "The approval gate's name (see status).", Required = true };
        var comment = new Option<string?>("--comment", "-m") { Description = "A comment for the audit trail." };
        var rollout = new RolloutOptions();
        var command = new Command(name, approve
            ? "Approve the gate a rollout waits at (as the OS user, $USER); the rollout continues once enough approvals are in."
            : "Reject the gate a rollout waits at (as the OS user, $USER); the rollout is rolled back (exit 5).") { id, gate, comment };
        rollout.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, name);
            var deploymentId = ctx.Get(id)!;
            await using var host = await ctx.OpenHostAsync(ct).ConfigureAwait(false);
            return await RolloutCommandSupport.RunAsync(ctx, host, rollout, RolloutTarget.Existing(deploymentId), async () =>
            {
                await RolloutCommandSupport.WhenReadyAsync(
                    host,
                    deploymentId,
                    () => approve ? host.Vm.ApproveAsync(deploymentId, ctx.Get(gate)!, ctx.Get(comment), ct) : host.Vm.RejectAsync(deploymentId, ctx.Get(gate)!, ctx.Get(comment), ct),
                    Patience,
                    ctx.Env.Time,
                    ct).ConfigureAwait(false);
                return deploymentId;
            }, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Destroy(CommandContextFactory factory)
    {
        var id = RolloutCommandSupport.DeploymentId();
        var force = new Option<bool>("--force") { Description = "Skip the graceful scale-down and the rollback of a running rollout; remove everything at once." };
        var command = new Command("destroy", "Destroy a deployment: stop every instance, remove its routes, release its resources.") { id, force };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "destroy");
            var deploymentId = ctx.Get(id)!;
            await using var host = await ctx.OpenHostAsync(ct, state => state.MarkPaused(deploymentId, paused: false)).ConfigureAwait(false);
            await RolloutTarget.Existing(deploymentId).AuthorizeFollowUpAsync(host.Vm, ct).ConfigureAwait(false);
            await host.Vm.DestroyAsync(deploymentId, ctx.Get(force), ct).ConfigureAwait(false);
            var status = await host.Vm.WaitForStateAsync(deploymentId, s => s == DeploymentState.Destroyed, ct).ConfigureAwait(false);
            RolloutCommandSupport.Print(ctx, DeploymentView.From(status, DeploymentView.Sources.Orchestrator));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Task<OrchestratorHost> OpenForAsync(CommandContext ctx, string id, Action<StateDirectory, string>? before, CancellationToken ct)
        => ctx.OpenHostAsync(ct, before is null ? null : state => before(state, id));
}
