using System.CommandLine;
using Spectre.Console;
using System.Text.Json;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.State;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary>
/// <c>list-deployments</c> and <c>status</c>. They never start the orchestrator (so they never resume or change a
/// rollout): they read the stored records, plus the instances the process runtime reports when the state directory is
/// free, or the live status another process publishes while it holds the state directory.
/// </summary>
internal static class ReadCommands
{
    public static IEnumerable<Command> Create(CommandContextFactory factory)
    {
        yield return List(factory);
        yield return Status(factory);
        yield return Health(factory);
    }

    private static Command Health(CommandContextFactory factory)
    {
        var probeTimeout = new Option<TimeSpan>("--probe-timeout") { Description = "How long to wait for the runtime's answer when no orchestrator runs (default 5s).", DefaultValueFactory = _ => TimeSpan.FromSeconds(5), CustomParser = Parsing.Duration };
        var command = new Command("health", "Show whether the runtime answers and each circuit breaker's state (exit 12 when a breaker is open, 11 when the runtime does not answer).") { probeTimeout };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var ctx = factory.For(parse, "health");
            var view = await ReadHealthAsync(ctx, ctx.Get(probeTimeout), cancellationToken).ConfigureAwait(false);
            if (ctx.Json)
            {
                StatusRenderer.WriteJson(ctx.Env, view, CliJson.Context.HealthView);
            }
            else
            {
                StatusRenderer.WriteHealth(ctx.Env, view);
            }

            return view.AnyOpen ? ExitCodes.CircuitOpen : view.RuntimeReachable ? ExitCodes.Success : ExitCodes.RuntimeUnavailable;
        });
        return command;
    }

    /// <summary>
    /// The health the running orchestrator publishes while another process holds the state directory; else (nothing
    /// runs) this command asks the runtime itself for its instances, once, within <paramref name="probeTimeout"/>.
    /// </summary>
    private static async Task<HealthView> ReadHealthAsync(CommandContext ctx, TimeSpan probeTimeout, CancellationToken cancellationToken)
    {
        StateLock? stateLock = null;
        if (Directory.Exists(ctx.State.Path))
        {
            try
            {
                stateLock = StateLock.TryTake(ctx.State.LockFile, ctx.Command);
            }
            catch (CliException ex)
            {
                // A read-only state directory: nobody can run an orchestrator on it, so probe the runtime without the lock.
                ctx.Env.WriteWarning(ex.Message);
                return await ProbeAsync(ctx, probeTimeout, cancellationToken).ConfigureAwait(false);
            }

            if (stateLock is null)
            {
                var file = OrchestratorHost.HealthFile(ctx.State);
                try
                {
                    return JsonSerializer.Deserialize(BoundedFile.ReadAllBytes(file, InputFiles.MaxRecordBytes, "live health file"), CliJson.Context.HealthView)
                        ?? throw new JsonException("the file holds null");
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or OrchestrationException)
                {
                    throw new CliException(ExitCodes.Conflict, $"another process runs the orchestrator on {ctx.State.Path} but its health is not readable ({Parsing.Shorten(ex.Message)}); try again in a moment, or run `health` once that process ended.");
                }
            }
        }

        using (stateLock)
        {
            return await ProbeAsync(ctx, probeTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Asks the runtime for this orchestrator's instances once, within <paramref name="probeTimeout"/>.</summary>
    private static async Task<HealthView> ProbeAsync(CommandContext ctx, TimeSpan probeTimeout, CancellationToken cancellationToken)
    {
        var (runtime, owner) = await ctx.Runtime.OpenReaderAsync(ctx.State).ConfigureAwait(false);
        await using (owner.ConfigureAwait(false))
        {
            string? error = null;
            using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            probe.CancelAfter(probeTimeout);
            try
            {
                _ = await runtime.ListOwnedAsync(probe.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                error = $"no answer within {probeTimeout.TotalSeconds:0.###} s";
            }
            catch (Exception ex) when (ex is OrchestrationException or IOException or HttpRequestException or System.ComponentModel.Win32Exception)
            {
                error = Parsing.Shorten(ex.Message);
            }

            return new HealthView
            {
                Source = HealthView.Sources.Probe,
                Runtime = runtime.Name,
                RuntimeReachable = error is null,
                RuntimeError = error,
                ObservedAt = ctx.Env.Time.GetUtcNow(),
                CircuitBreakers = [],
            };
        }
    }

    private static Command List(CommandContextFactory factory)
    {
        var detailed = new Option<bool>("--detailed") { Description = "Add traffic weights, the current step and the last message." };
        var filter = new Option<string[]>("--filter") { Description = "Only deployments in these states: running, deploying, paused, rolledback, failed, destroyed, … (repeatable).", AllowMultipleArgumentsPerToken = true };
        var appId = new Option<string?>("--app-id") { Description = "Only this application." };
        var environment = new Option<string?>("--environment") { Description = "Only this environment." };
        var command = new Command("list-deployments", "List deployments as a table (or --output json).") { detailed, filter, appId, environment };
        command.Aliases.Add("ls");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var ctx = factory.For(parse, "list-deployments");
            var states = new List<DeploymentState>();
            foreach (var text in ctx.Get(filter) ?? [])
            {
                if (!Enum.TryParse<DeploymentState>(text.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var state) || !Enum.IsDefined(state))
                {
                    throw new CliException(ExitCodes.UsageError, $"--filter: '{text}' is not a state; use one of {string.Join(", ", Enum.GetNames<DeploymentState>().Select(n => n.ToLowerInvariant()))}.");
                }

                states.Add(state);
            }

            var views = await ReadAsync(ctx, null, cancellationToken).ConfigureAwait(false);
            var totals = views.GroupBy(v => v.State).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var matching = views
                .Where(v => states.Count == 0 ? v.State != nameof(DeploymentState.Destroyed) : states.Any(s => s.ToString() == v.State))
                .Where(v => ctx.Get(appId) is not { } a || v.AppId == a)
                .Where(v => ctx.Get(environment) is not { } e || v.Environment == e)
                .OrderByDescending(v => v.CreatedAt)
                .ToList();
            var list = new DeploymentListView { Deployments = matching, Totals = totals };
            if (ctx.Json)
            {
                StatusRenderer.WriteJson(ctx.Env, list, CliJson.Context.DeploymentListView);
            }
            else
            {
                StatusRenderer.WriteList(ctx.Env, list, ctx.Get(detailed));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Status(CommandContextFactory factory)
    {
        var id = RolloutCommandSupport.DeploymentId();
        var continuous = new Option<bool>("--continuous", "-w") { Description = "Keep watching and print the status whenever it changes, until Ctrl+C (with --output json: one compact JSON document per line)." };
        var interval = new Option<TimeSpan>("--interval") { Description = "How often --continuous looks (default 1s).", DefaultValueFactory = _ => TimeSpan.FromSeconds(1), CustomParser = Parsing.Duration };
        var command = new Command("status", "Show a deployment: state, revisions, progress, ready replicas and traffic weights (exit 6 when not found).") { id, continuous, interval };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var ctx = factory.For(parse, "status");
            var deploymentId = ctx.Get(id)!;
            if (!ctx.Get(continuous))
            {
                RolloutCommandSupport.Print(ctx, await ReadOneAsync(ctx, deploymentId, cancellationToken).ConfigureAwait(false));
                return ExitCodes.Success;
            }

            string? last = null;
            try
            {
                while (true)
                {
                    var view = await ReadOneAsync(ctx, deploymentId, cancellationToken).ConfigureAwait(false);
                    var text = JsonSerializer.Serialize(view with { Source = "" }, CliJson.Context.DeploymentView);
                    if (text != last)
                    {
                        last = text;
                        if (ctx.Json)
                        {
                            ctx.Env.Output.WriteLine(JsonSerializer.Serialize(JsonDocument.Parse(JsonSerializer.Serialize(view, CliJson.Context.DeploymentView)).RootElement));
                            ctx.Env.Output.Flush();
                        }
                        else
                        {
                            ctx.Env.Console.WriteLine($"--- {ctx.Env.Time.GetLocalNow():HH:mm:ss} ---");
                            StatusRenderer.WriteStatus(ctx.Env, view);
                        }
                    }

                    await Task.Delay(ctx.Get(interval), ctx.Env.Time, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ExitCodes.Success;
            }
        });
        return command;
    }

    private static async Task<DeploymentView> ReadOneAsync(CommandContext ctx, string id, CancellationToken cancellationToken)
    {
        var views = await ReadAsync(ctx, id, cancellationToken).ConfigureAwait(false);
        return (views.Count > 0 ? views[0] : null) ?? throw new CliException(ExitCodes.NotFound, $"no deployment has the id '{id}' in {ctx.State.Path}; list them with `bpi-orchestration list-deployments`.");
    }

    /// <summary>Reads one deployment (or all when <paramref name="id"/> is null) without starting the orchestrator.</summary>
    internal static async Task<IReadOnlyList<DeploymentView>> ReadAsync(CommandContext ctx, string? id, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(ctx.State.Deployments))
        {
            return [];
        }

        var store = new CliDeploymentStore(ctx.State.Deployments);
        IReadOnlyList<DeploymentRecord> records = id is null
            ? await store.ListAsync(cancellationToken).ConfigureAwait(false)
            : await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } one ? [one] : [];
        if (id is null && store.Unreadable.Count > 0)
        {
            foreach (var (file, reason) in store.Unreadable.OrderBy(u => u.Key, StringComparer.Ordinal))
            {
                ctx.Env.WriteWarning($"skipped deployments/{file}: {reason}");
            }
        }

        if (records.Count == 0)
        {
            return [];
        }

        StateLock? stateLock;
        try
        {
            stateLock = StateLock.TryTake(ctx.State.LockFile, ctx.Command);
        }
        catch (CliException ex)
        {
            // A read-only or full state directory can still be read: show the stored records, and say why they are not live.
            ctx.Env.WriteWarning(ex.Message);
            stateLock = null;
        }

        if (stateLock is null)
        {
            // Another process runs the orchestrator: prefer what it publishes (weights, ready replicas), else the record.
            var views = new List<DeploymentView>();
            foreach (var record in records)
            {
                var live = Path.Combine(ctx.State.Live, record.Id + ".json");
                DeploymentView? view = null;
                try
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    view = JsonSerializer.Deserialize(BoundedFile.ReadAllBytes(live, InputFiles.MaxRecordBytes, "live status file"), CliJson.Context.DeploymentView);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or OrchestrationException)
                {
                    // Not published (yet): fall back to the stored record.
                }

                views.Add(view ?? DeploymentView.From(record, [], DeploymentView.Sources.Record));
            }

            return views;
        }

        using (stateLock)
        {
            var (runtime, owner) = await ctx.Runtime.OpenReaderAsync(ctx.State).ConfigureAwait(false);
            await using var _ = owner.ConfigureAwait(false);
            var views = new List<DeploymentView>();
            foreach (var record in records)
            {
                var instances = record.State.IsLive() ? await runtime.GetInstancesAsync(record.Id, cancellationToken: cancellationToken).ConfigureAwait(false) : [];
                views.Add(DeploymentView.From(record, instances));
            }

            return views;
        }
    }
}
