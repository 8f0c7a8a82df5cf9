using System.CommandLine;
using Spectre.Console;
using Bpi.Orchestration.Cli.Config;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary>
/// <c>start</c>: a long-running orchestrator on the state directory. It resumes unfinished rollouts, serves every
/// deployment's components through the in-process router (the routes of serving revisions are restored at start),
/// optionally deploys a config, and prints events until Ctrl+C. While it runs, self-healing keeps every deployment at
/// its desired state (an instance that dies is replaced, and leaves the in-process router first). It holds the state
/// directory, so other commands wait (<c>--lock-timeout</c>) or exit 7. Ctrl+C or SIGTERM stops it with exit code 130.
/// </summary>
internal static class StartCommand
{
    public static IEnumerable<Command> Create(CommandContextFactory factory)
    {
        var config = new Option<string?>("--config", "-c") { Description = "A deployment config to deploy at start when no live deployment has its name (YAML or JSON)." };
        config.Validators.Add(Parsing.NonEmptyPath);
        var postgres = new Option<string?>("--postgres") { Description = "Keep deployments, leases and the audit chain in this PostgreSQL database (an Npgsql connection string), shared with every other `start --postgres` on it: the processes form one orchestrator, each running the deployments it holds the lease of, and taking over those of an instance that dies." };
        var command = new Command("start", "Run the orchestrator until Ctrl+C: resume unfinished rollouts, serve deployments through the in-process router, print events.") { config, postgres };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "start");
            DeploymentSpec? spec = ctx.Get(config) is { } path
                ? await DeploymentConfigLoader.LoadFileAsync(path, new ConfigOverrides(), ct).ConfigureAwait(false)
                : null;
            Action<IOrchestrationBuilder>? shared = ctx.Get(postgres) is { Length: > 0 } connectionString
                ? builder => builder.AddPostgreSqlState(connectionString)
                : null;
            await using var host = await ctx.OpenHostAsync(ct, configure: shared).ConfigureAwait(false);
            var events = host.Vm.WatchAsync(cancellationToken: ct);
            await RestoreRoutesAsync(host, ct).ConfigureAwait(false);
            await host.PublishAllAsync(ct).ConfigureAwait(false);
            var list = await host.Vm.ListAsync(cancellationToken: ct).ConfigureAwait(false);
            if (spec is not null && !list.Deployments.Any(d => d.Name == spec.Name && d.AppId == spec.AppId && d.Environment == spec.Environment))
            {
                var id = await host.Vm.DeployAsync(spec, ct).ConfigureAwait(false);
                ctx.Env.Console.WriteLine($"Deployment {id} created from {ctx.Get(config)}.");
            }

            ctx.Env.Console.WriteLine($"Orchestrator running on {ctx.State.Path} ({list.Deployments.Count} deployment(s)). Ctrl+C stops it; workloads keep running.");
            PrintEndpoints(ctx, host, list.Deployments);
            try
            {
                await foreach (var e in events.ConfigureAwait(false))
                {
                    ctx.Env.Console.WriteLine($"{e.Timestamp:HH:mm:ss}  {e.DeploymentId}  {RolloutWatcher.Describe(e)}");
                    if (e.Kind == DeploymentEventKind.StateChanged && e.State.IsSettled())
                    {
                        PrintEndpoints(ctx, host, (await host.Vm.ListAsync(cancellationToken: ct).ConfigureAwait(false)).Deployments);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl+C: a normal stop.
            }

            ctx.Env.Console.WriteLine("Stopping the orchestrator; rollouts keep their cursor and resume with the next command.");

            // Stopped by Ctrl+C or SIGTERM: the README's exit-code table says 130 (interrupted), as for every other command.
            return ct.IsCancellationRequested ? ExitCodes.Interrupted : ExitCodes.Success;
        });
        yield return command;
    }

    private static void PrintEndpoints(CommandContext ctx, OrchestratorHost host, IEnumerable<DeploymentStatus> deployments)
    {
        foreach (var d in deployments)
        {
            foreach (var c in d.Components)
            {
                if (host.Router.GetEndpoint(TrafficRoute.ForComponent(d.Id, c.Id)) is { } endpoint)
                {
                    ctx.Env.Console.WriteLine($"  {d.Id}/{c.Id}: http://{endpoint}/ ({d.State}, revision {d.StableRevision})");
                }
            }
        }
    }

    /// <summary>The router lives in the orchestrator's process: give each serving revision its route again.</summary>
    private static async Task RestoreRoutesAsync(OrchestratorHost host, CancellationToken ct)
    {
        var list = await host.Vm.ListAsync(new DeploymentQuery { States = [DeploymentState.Running, DeploymentState.RolledBack] }, ct).ConfigureAwait(false);
        foreach (var d in list.Deployments)
        {
            if (d.StableRevision is not { } stable)
            {
                continue;
            }

            foreach (var c in d.Components)
            {
                var instances = await host.Runtime.GetInstancesAsync(d.Id, c.Id, stable, ct).ConfigureAwait(false);
                var endpoints = instances.Where(i => i.State == InstanceState.Running && i.Endpoint is not null).Select(i => i.Endpoint!).ToList();
                if (endpoints.Count > 0)
                {
                    await host.Router.ApplyAsync(new TrafficRoute(TrafficRoute.ForComponent(d.Id, c.Id), [new TrafficBackend(stable, 100, endpoints)]), ct).ConfigureAwait(false);
                }
            }
        }
    }
}
