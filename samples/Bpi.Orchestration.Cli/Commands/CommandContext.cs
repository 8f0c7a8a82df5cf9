using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Bpi.Orchestration.Cli.Config;
using Bpi.Orchestration.Cli.Hosting;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary>Parsers for option values.</summary>
internal static class Parsing
{
    public static TimeSpan Duration(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (ConfigObject.TryParseDuration(text, out var duration))
        {
            return duration;
        }

        result.AddError($"'{text}' is not a duration; use for example 500ms, 30s, 5m or 1h.");
        return TimeSpan.Zero;
    }

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

    /// <summary>Whether <c>--output json</c> was given.</summary>
    public bool Json { get; }

    public T? Get<T>(Option<T> option) => Parse.GetValue(option);

    /// <summary>Takes the state directory's lock (waiting up to <c>--lock-timeout</c>) or fails with exit code 7 naming the holder.</summary>
    public async Task<StateLock> LockAsync(CancellationToken cancellationToken)
    {
        var taken = await State.TryLockAsync(Command, Parse.GetValue(_globals.LockTimeout), Env.Time, cancellationToken).ConfigureAwait(false);
        return taken ?? throw Busy();
    }

    /// <summary>Takes the lock and starts the orchestrator on the state directory.</summary>
    public async Task<OrchestratorHost> OpenHostAsync(CancellationToken cancellationToken)
    {
        var stateLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        CliSecurity security;
        try
        {
            security = Security();
        }
        catch
        {
            stateLock.Dispose();
            throw;
        }

        return await OrchestratorHost.OpenAsync(State, stateLock, security, Env.Time, cancellationToken).ConfigureAwait(false);
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
