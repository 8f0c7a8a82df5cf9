using System.CommandLine;
using System.Runtime.CompilerServices;
using Spectre.Console;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary>The options and the shared flow of every command that starts or steers a rollout.</summary>
internal sealed class RolloutOptions
{
    public Option<bool> NoWait { get; } = new("--no-wait")
    {
        Description = "Return once the operation is accepted. The rollout's cursor is stored: it continues when the next command (or `start`) runs the orchestrator on this state directory.",
    };

    public Option<TimeSpan?> Timeout { get; } = new("--timeout")
    {
        Description = "Stop waiting after this long (e.g. 10m) and exit 8; the rollout keeps its cursor. Default: wait until it settles or waits for a person.",
        CustomParser = Parsing.OptionalDuration,
    };

    public void AddTo(Command command)
    {
        command.Add(NoWait);
        command.Add(Timeout);
    }
}

/// <summary>
/// What a command acts on: a new deployment of a spec, or an existing deployment. Before its operation runs, a command
/// authorizes the verbs it will use after it (<see cref="FollowUpVerbs"/>: <c>read</c>, for the status it follows and
/// prints), so a policy that allows the operation but not the read refuses the command before anything changed, instead
/// of exiting 9 after the deployment was created. The operation's own verb is authorized by the orchestrator itself, at
/// the start of the operation, before it changes anything.
/// </summary>
internal sealed record RolloutTarget(string? DeploymentId, DeploymentSpec? NewSpec)
{
    /// <summary>The verbs a command uses after its operation.</summary>
    public static readonly IReadOnlyList<string> FollowUpVerbs = [Security.OrchestrationVerbs.Read];

    public static RolloutTarget Existing(string deploymentId) => new(deploymentId, null);

    public static RolloutTarget New(DeploymentSpec spec) => new(null, spec);

    /// <summary>Throws Unauthorized (exit 9) unless the acting user may use every follow-up verb on the target.</summary>
    public Task AuthorizeFollowUpAsync(IOrchestrationVm vm, CancellationToken cancellationToken)
        => NewSpec is not null ? vm.AuthorizeAsync(FollowUpVerbs, NewSpec, cancellationToken) : vm.AuthorizeAsync(FollowUpVerbs, DeploymentId!, cancellationToken);
}

internal static class RolloutCommandSupport
{
    public static Option<string> DeploymentId(bool required = true)
    {
        var option = new Option<string>("--deployment-id", "-d")
        {
            Description = "The deployment's id (see list-deployments).",
            Required = required,
        };
        option.Validators.Add(Parsing.DeploymentId);
        return option;
    }

    /// <summary>
    /// Authorizes the follow-up verbs on <paramref name="target"/>, subscribes to the deployment's events, runs <paramref name="operation"/>, then (unless <c>--no-wait</c>) follows
    /// the rollout until it settles or waits for a person, prints the final status and returns the exit code.
    /// <paramref name="print"/>, when given, receives the final status instead of it being printed (a command that
    /// embeds it in a document of its own).
    /// </summary>
    public static async Task<int> RunAsync(CommandContext ctx, OrchestratorHost host, RolloutOptions options, RolloutTarget target, Func<Task<string>> operation, CancellationToken cancellationToken, Action<DeploymentView>? print = null)
    {
        print ??= view => Print(ctx, view);
        await target.AuthorizeFollowUpAsync(host.Vm, cancellationToken).ConfigureAwait(false);
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var events = host.Vm.WatchAsync(cancellationToken: watching.Token);
        var id = await operation().ConfigureAwait(false);
        var filtered = Filter(events, id, CancellationToken.None);
        if (ctx.Get(options.NoWait))
        {
            var accepted = await host.Vm.GetStatusAsync(id, cancellationToken).ConfigureAwait(false);
            print(DeploymentView.From(accepted, DeploymentView.Sources.Orchestrator));
            if (!ctx.Json)
            {
                ctx.Env.Console.WriteLine("Not waiting (--no-wait): the rollout continues when the next command or `bpi-orchestration start` runs the orchestrator on this state directory.");
            }

            return ExitCodes.Success;
        }

        var outcome = await RolloutWatcher.FollowAsync(ctx.Env, host.Vm, id, filtered, ctx.Get(options.Timeout), ctx.Json, cancellationToken).ConfigureAwait(false);
        await watching.CancelAsync().ConfigureAwait(false);
        print(DeploymentView.From(outcome.Status, DeploymentView.Sources.Orchestrator));
        if (!ctx.Json)
        {
            var next = outcome switch
            {
                { TimedOut: true } => "Timed out waiting (--timeout); the rollout keeps its cursor and continues when the orchestrator runs again.",
                { WaitingForPerson: true } => $"The rollout waits for a person: `bpi-orchestration resume -d {id}` after a pause, `promote -d {id}` at a pause step, `approve`/`reject -d {id} --gate <name>` at a gate; `abort -d {id}` rolls it back.",
                { Status.State: DeploymentState.RolledBack } => $"Rolled back: revision {outcome.Status.StableRevision} keeps serving.",
                { Status.State: DeploymentState.Failed } => "The rollout failed.",
                _ => null,
            };
            if (next is not null)
            {
                ctx.Env.Console.WriteLine(next);
            }
        }

        return outcome.ExitCode;
    }

    public static void Print(CommandContext ctx, DeploymentView view)
    {
        if (ctx.Json)
        {
            StatusRenderer.WriteJson(ctx.Env, view, CliJson.Context.DeploymentView);
        }
        else
        {
            StatusRenderer.WriteStatus(ctx.Env, view);
        }
    }

    /// <summary>
    /// Runs an operation on a rollout that an earlier command left unfinished and this process resumed: until the
    /// resumed rollout reaches the step the operation acts on (a pause for promote, a gate for approve), the SDK answers
    /// Conflict; each new event of the deployment is a reason to try again, within <paramref name="patience"/>.
    /// </summary>
    public static async Task WhenReadyAsync(OrchestratorHost host, string id, Func<Task> operation, TimeSpan patience, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(patience, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        var events = host.Vm.WatchAsync(id, linked.Token).GetAsyncEnumerator(linked.Token);
        var next = events.MoveNextAsync().AsTask();
        try
        {
            while (true)
            {
                try
                {
                    await operation().ConfigureAwait(false);
                    return;
                }
                catch (OrchestrationException ex) when (ex.Kind == OrchestrationErrorKind.Conflict)
                {
                    var status = await host.Vm.GetStatusAsync(id, cancellationToken).ConfigureAwait(false);
                    if (status.State.IsSettled())
                    {
                        throw;
                    }

                    if (timer.IsCancellationRequested)
                    {
                        throw new OrchestrationException(ex.Kind, $"{ex.Message} (still so after {patience.TotalSeconds:0} s: the deployment is {status.State} at step {status.CurrentStep ?? "-"}).", ex);
                    }

                    // Try again on the deployment's next event, or after a second at the latest (a state change whose
                    // save failed publishes no event).
                    var tick = Task.Delay(TimeSpan.FromSeconds(1), time, linked.Token);
                    if (next.IsCompleted)
                    {
                        // The event stream ended: only the timer is left.
                        await tick.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    }
                    else
                    {
                        await Task.WhenAny(next, tick).ConfigureAwait(false);
                        if (next.IsCompleted && next.IsCompletedSuccessfully && next.Result)
                        {
                            next = events.MoveNextAsync().AsTask();
                        }
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                }
            }
        }
        finally
        {
            await linked.CancelAsync().ConfigureAwait(false);
            await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await events.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async IAsyncEnumerable<DeploymentEvent> Filter(IAsyncEnumerable<DeploymentEvent> events, string id, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var e in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (string.Equals(e.DeploymentId, id, StringComparison.Ordinal))
            {
                yield return e;
            }
        }
    }
}
