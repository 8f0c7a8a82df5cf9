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
        public Option<string> Config { get; } = new("--config", "-c") { Description = "The deployment config: YAML, or JSON when the file ends in .json.", Required = true };

        public Option<DeploymentType?> Type { get; } = new("--type") { Description = "The deployment type (overrides the config's `type`): DockLockContainer, EncCluster, HttpCage, CueNginx, HybridInfrastructure." };

        public Option<string?> AppId { get; } = new("--app-id") { Description = "The application id (overrides the config's `appId`)." };

        public Option<string?> Name { get; } = new("--name") { Description = "The deployment name (overrides the config's `name`)." };

        public Option<string?> Strategy { get; } = new("--strategy") { Description = "recreate, rolling, canary or blueGreen (overrides the config's `strategy.type`)." };

        public void AddTo(Command command)
        {
            Config.Validators.Add(Parsing.NonEmptyPath);
            command.Add(Config);
            command.Add(Type);
            command.Add(AppId);
            command.Add(Name);
            command.Add(Strategy);
        }

        public Task<DeploymentSpec> LoadAsync(CommandContext ctx, CancellationToken cancellationToken)
            => DeploymentConfigLoader.LoadFileAsync(ctx.Get(Config)!, new ConfigOverrides { Name = ctx.Get(Name), AppId = ctx.Get(AppId), Type = ctx.Get(Type), Strategy = ctx.Get(Strategy) }, cancellationToken);
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
