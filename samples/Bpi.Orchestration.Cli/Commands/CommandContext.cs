using Microsoft.Extensions.DependencyInjection;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Bpi.Orchestration.Cli.Config;
using Bpi.Orchestration.Cli.Hosting;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary>Parsers for option values.</summary>
internal static class Parsing
{
    /// <summary>
    /// The longest duration an option accepts: 24 days (576h). Timers and delays refuse more than about 24.8 days
    /// (int.MaxValue milliseconds), so a longer value is refused here, with the range, instead of failing mid-command.
    /// </summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(24);

    public static TimeSpan Duration(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        var option = result.Parent is OptionResult o ? o.Option.Name : "the option";
        if (!Bpi.Orchestration.Configuration.DeploymentDocument.TryParseDuration(text, out var duration))
        {
            result.AddError($"{option}: '{Shorten(text)}' is not a duration; use for example 500ms, 30s, 5m or 1h (0s to 576h).");
            return TimeSpan.Zero;
        }

        if (duration > MaxDuration)
        {
            result.AddError($"{option}: '{Shorten(text)}' is too long; a duration is between 0s and 576h (24 days).");
            return TimeSpan.Zero;
        }

        return duration;
    }

    /// <summary>Checks <c>--deployment-id</c> while the command line is parsed, before anything reads or writes: an id is never a path.</summary>
    public static void DeploymentId(OptionResult result)
    {
        if (result.Tokens is [{ } token, ..] && !State.DeploymentIds.IsValid(token.Value))
        {
            result.AddError($"{result.Option.Name}: '{Shorten(token.Value)}' is not a deployment id (an id is {State.DeploymentIds.Grammar}); list them with `bpi-orchestration list-deployments`.");
        }
    }

    /// <summary>Checks that a path option is not empty.</summary>
    public static void NonEmptyPath(OptionResult result)
    {
        if (result.Tokens is [{ } token, ..] && string.IsNullOrWhiteSpace(token.Value))
        {
            result.AddError($"{result.Option.Name}: the path is empty; name a file.");
        }
    }

    /// <summary>Long values are cut in messages (the whole value helps nobody and floods the terminal).</summary>
    public static string Shorten(string text) => text.Length > 200 ? text[..200] + "…" : text;

    public static TimeSpan? OptionalDuration(ArgumentResult result) => Duration(result);
}

/// <summary>Makes the <see cref="CommandContext"/> of one invocation.</summary>
internal sealed class CommandContextFactory(CliEnvironment env, GlobalOptions globals)
{
    public CliEnvironment Environment { get; } = env;

    public GlobalOptions Globals { get; } = globals;

    public CommandContext For(ParseResult parse, string command) => new(Environment, Globals, parse, command);
}

/// <summary>What one running command needs: the environment, the global options' values, and the state directory.</summary>
internal sealed class CommandContext
{
    private readonly GlobalOptions _globals;
    private RuntimeSelection? _runtime;

    public CommandContext(CliEnvironment env, GlobalOptions globals, ParseResult parse, string command)
    {
        Env = env;
        _globals = globals;
        Parse = parse;
        Command = command;
        State = StateDirectory.Resolve(parse.GetValue(globals.StateDir), env.GetVariable);
        Json = string.Equals(parse.GetValue(globals.Output), "json", StringComparison.Ordinal);
    }

    public CliEnvironment Env { get; }

    public ParseResult Parse { get; }

    public string Command { get; }

    public StateDirectory State { get; }

    /// <summary>Where the state directory's deployments run (<c>--runtime</c>, <c>--kubeconfig</c>, … or what the state directory recorded).</summary>
    public RuntimeSelection Runtime => _runtime ??= RuntimeSelection.Resolve(State, Parse.GetValue(_globals.Runtime), Parse.GetValue(_globals.Kubeconfig), Parse.GetValue(_globals.KubeContext), Parse.GetValue(_globals.KubeGateway), Env.GetVariable, RuntimeFallback);

    /// <summary>The runtime the command's input names (a config's <c>runtime:</c>, docker for a compose file), when neither <c>--runtime</c> nor the environment does; set before <see cref="Runtime"/> is first read.</summary>
    public string? RuntimeFallback { get; set; }

    /// <summary>Whether <c>--output json</c> was given.</summary>
    public bool Json { get; }

    public T? Get<T>(Option<T> option) => Parse.GetValue(option);

    /// <summary>Takes the state directory's lock (waiting up to <c>--lock-timeout</c>) or fails with exit code 7 naming the holder.</summary>
    public async Task<StateLock> LockAsync(CancellationToken cancellationToken)
    {
        var taken = await State.TryLockAsync(Command, Parse.GetValue(_globals.LockTimeout), Env.Time, cancellationToken).ConfigureAwait(false);
        return taken ?? throw Busy();
    }

    /// <summary>
    /// Takes the lock and starts the orchestrator on the state directory. <paramref name="whileLocked"/>, when given,
    /// runs once the lock is held and the policy is read, before the orchestrator starts (it changes the state directory).
    /// </summary>
    public async Task<OrchestratorHost> OpenHostAsync(CancellationToken cancellationToken, Action<StateDirectory>? whileLocked = null, Action<IOrchestrationBuilder>? configure = null)
    {
        var runtime = Runtime;
        var stateLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        CliSecurity security;
        try
        {
            security = Security();
            runtime.Record(State);
            whileLocked?.Invoke(State);
        }
        catch
        {
            stateLock.Dispose();
            throw;
        }

        var forRuntime = runtime.Configure;
        Action<IOrchestrationBuilder>? both = forRuntime is null ? configure : configure is null ? forRuntime : b =>
        {
            forRuntime(b);
            configure(b);
        };
        var host = await OrchestratorHost.OpenAsync(State, stateLock, security, Env.Time, StateDirectory.VmId, both, cancellationToken).ConfigureAwait(false);
        WarnUnreadable(host.UnreadableRecords);
        return host;
    }

    /// <summary>Says which deployment record files were skipped because they could not be read (the other deployments work on).</summary>
    public void WarnUnreadable(IReadOnlyDictionary<string, string> unreadable)
    {
        foreach (var (file, reason) in unreadable.OrderBy(u => u.Key, StringComparer.Ordinal))
        {
            Env.WriteWarning($"skipped deployments/{file}: {reason}");
        }

        if (unreadable.Count > 0)
        {
            Env.WriteWarning("instances of a skipped deployment are left running as they are (nothing is removed as an orphan) until its record is repaired or moved away.");
        }
    }

    /// <summary>The authorization policy in force (<c>--policy</c>, <c>$BPI_ORCHESTRATION_POLICY</c>, the state directory's policy file, or the built-in one).</summary>
    public CliSecurity Security() => CliSecurity.Resolve(Parse.GetValue(_globals.Policy), Env, State);

    public CliException Busy()
    {
        var holder = State.DescribeHolder();
        return new CliException(
            ExitCodes.Conflict,
            string.Create(CultureInfo.InvariantCulture, $"another bpi-orchestration process{(holder.Length > 0 ? $" ({holder})" : "")} holds the state directory {State.Path}; ")
            + "only one process runs the orchestrator at a time. Follow its rollout with `bpi-orchestration status --deployment-id <id> --continuous`, "
            + "wait for it with --lock-timeout 5m, or stop it.");
    }
}
