using System.CommandLine;
using Spectre.Console;
using Bpi.Orchestration.Cli.Config;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary><c>deploy</c> and <c>update</c>: roll out a spec from a config file.</summary>
internal static class DeployCommands
{
    public static IEnumerable<Command> Create(CommandContextFactory factory)
    {
        yield return Deploy(factory);
        yield return Update(factory);
    }

    private sealed class SpecOptions
    {
        public Option<string?> Config { get; } = new("--config", "-c") { Description = "The deployment config: YAML, or JSON when the file ends in .json (a top-level `runtime: docker|process|kubernetes` chooses the runtime when --runtime does not)." };

        public Option<string?> Compose { get; } = new("--compose") { Description = "A Docker Compose file instead of --config: its services become the components of one deployment of DockLock containers (runtime docker unless --runtime says otherwise)." };

        public Option<bool> Lenient { get; } = new("--lenient") { Description = "With --compose: drop the keys the orchestrator cannot honour (listed as warnings) instead of refusing the file." };

        public Option<DeploymentType?> Type { get; } = new("--type") { Description = "The deployment type (overrides the config's `type`): DockLockContainer, EncCluster, HttpCage, CueNginx, HybridInfrastructure." };

        public Option<string?> AppId { get; } = new("--app-id") { Description = "The application id (overrides the config's `appId`)." };

        public Option<string?> Name { get; } = new("--name") { Description = "The deployment name (overrides the config's `name`)." };

        public Option<string?> Strategy { get; } = new("--strategy") { Description = "recreate, rolling, canary or blueGreen (overrides the config's `strategy.type`)." };

        public void AddTo(Command command)
        {
            Config.Validators.Add(Parsing.NonEmptyPath);
            Compose.Validators.Add(Parsing.NonEmptyPath);
            command.Add(Config);
            command.Add(Compose);
            command.Add(Lenient);
            command.Validators.Add(result =>
            {
                var config = result.GetValue(Config) is not null;
                var compose = result.GetValue(Compose) is not null;
                if (config == compose)
                {
                    result.AddError(config ? "give --config or --compose, not both." : "give the deployment with --config <file> or --compose <file>.");
                }
                else if (result.GetValue(Lenient) && !compose)
                {
                    result.AddError("--lenient applies to --compose only.");
                }
            });
            command.Add(Type);
            command.Add(AppId);
            command.Add(Name);
            command.Add(Strategy);
        }

        /// <summary>The spec of --config or --compose; sets the runtime the file names as the command's fallback.</summary>
        public async Task<DeploymentSpec> LoadAsync(CommandContext ctx, CancellationToken cancellationToken)
        {
            var overrides = new ConfigOverrides { Name = ctx.Get(Name), AppId = ctx.Get(AppId), Type = ctx.Get(Type), Strategy = ctx.Get(Strategy) };
            if (ctx.Get(Compose) is { } compose)
            {
                var (spec, warnings) = await ComposeLoader.LoadAsync(compose, lenient: ctx.Get(Lenient), overrides, ctx.Env.GetVariable, cancellationToken).ConfigureAwait(false);
                foreach (var warning in warnings)
                {
                    ctx.Env.WriteWarning(warning);
                }

                ctx.RuntimeFallback = Hosting.RuntimeSelection.Docker;
                return spec;
            }

            var (loaded, runtime) = await DeploymentConfigLoader.LoadFileWithRuntimeAsync(ctx.Get(Config)!, overrides, cancellationToken).ConfigureAwait(false);
            ctx.RuntimeFallback = runtime;
            return loaded;
        }
    }

    private static Command Deploy(CommandContextFactory factory)
    {
        var spec = new SpecOptions();
        var rollout = new RolloutOptions();
        var command = new Command("deploy", "Create a deployment from a config file and follow its first rollout (exit 0 Running, 1 failed, 3 invalid config, 4 refused by the security gate).");
        spec.AddTo(command);
        rollout.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var ctx = factory.For(parse, "deploy");
            var deployment = await spec.LoadAsync(ctx, cancellationToken).ConfigureAwait(false);
            await using var host = await ctx.OpenHostAsync(cancellationToken).ConfigureAwait(false);
            return await RolloutCommandSupport.RunAsync(ctx, host, rollout, RolloutTarget.New(deployment), async () =>
            {
                var id = await host.Vm.DeployAsync(deployment, cancellationToken).ConfigureAwait(false);
                if (!ctx.Json)
                {
                    ctx.Env.Console.WriteLine($"Deployment {id} created ({deployment.Name}, app {deployment.AppId}, strategy {deployment.Strategy.Name}).");
                }

                return id;
            }, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Update(CommandContextFactory factory)
    {
        var spec = new SpecOptions();
        var rollout = new RolloutOptions();
        var id = RolloutCommandSupport.DeploymentId();
        var command = new Command("update", "Roll out a new revision of a deployment from a config file with its strategy (exit 0 Running, 5 rolled back, 1 failed, 3 invalid config).");
        command.Add(id);
        spec.AddTo(command);
        rollout.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var ctx = factory.For(parse, "update");
            var deployment = await spec.LoadAsync(ctx, cancellationToken).ConfigureAwait(false);
            await using var host = await ctx.OpenHostAsync(cancellationToken).ConfigureAwait(false);
            var deploymentId = ctx.Get(id)!;
            return await RolloutCommandSupport.RunAsync(ctx, host, rollout, RolloutTarget.Existing(deploymentId), async () =>
            {
                var revision = await host.Vm.UpdateAsync(deploymentId, deployment, cancellationToken).ConfigureAwait(false);
                if (!ctx.Json)
                {
                    ctx.Env.Console.WriteLine($"Rolling out revision {revision} of {deploymentId} ({deployment.Strategy.Name}).");
                }

                return deploymentId;
            }, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}
