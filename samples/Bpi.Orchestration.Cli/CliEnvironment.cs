using Spectre.Console;

namespace Bpi.Orchestration.Cli;

/// <summary>
/// What a command sees of the outside world: where it writes, whether a person watches, the environment variables and
/// the clock. The real process uses <see cref="FromProcess"/>; tests pass writers and a dictionary.
/// </summary>
internal sealed class CliEnvironment
{
    /// <summary>The environment variable that sets the state directory when <c>--state-dir</c> is not given.</summary>
    public const string StateDirVariable = "BPI_ORCHESTRATION_STATE_DIR";

    /// <summary>
    /// The environment variable that names an audit witness file: every checkpoint the CLI signs is also appended there,
    /// and commands and <c>audit verify</c> check the trail against it. Put it outside the state directory.
    /// </summary>
    public const string AuditWitnessVariable = "BPI_ORCHESTRATION_AUDIT_WITNESS";

    public CliEnvironment(TextWriter output, TextWriter error, bool interactive, Func<string, string?> getVariable, TimeProvider? time = null)
    {
        // Untrusted text (config values, stored records, the lock's owner file) never reaches a terminal raw: standard
        // error always, and standard output when it carries no ANSI styling of our own, show control characters as escapes.
        Output = interactive ? output : new Output.TerminalTextWriter(output);
        Error = new Output.TerminalTextWriter(error);
        Interactive = interactive;
        GetVariable = getVariable;
        Time = time ?? TimeProvider.System;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!interactive)
        {
            // Redirected output is read by programs and people alike: no wrapping at an imaginary console width.
            Console.Profile.Width = 1000;
        }
    }

    /// <summary>Standard output: tables, progress and JSON.</summary>
    public TextWriter Output { get; }

    /// <summary>Standard error: errors and warnings, so <c>--output json</c> stays parseable.</summary>
    public TextWriter Error { get; }

    /// <summary>Spectre's console over <see cref="Output"/>.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>Whether a person watches a terminal: then rollouts show live progress; otherwise one plain line per event.</summary>
    public bool Interactive { get; }

    public Func<string, string?> GetVariable { get; }

    public TimeProvider Time { get; }

    /// <summary>The real console: interactive when stdout is a terminal, <c>CI</c> is not set and <c>TERM</c> is not <c>dumb</c>.</summary>
    public static CliEnvironment FromProcess()
    {
        var interactive = !System.Console.IsOutputRedirected
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))
            && !string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal);
        return new CliEnvironment(System.Console.Out, System.Console.Error, interactive, Environment.GetEnvironmentVariable);
    }

    /// <summary>Writes an error line to <see cref="Error"/>.</summary>
    public void WriteError(string message) => Error.WriteLine("error: " + message);

    /// <summary>Writes a warning line to <see cref="Error"/>.</summary>
    public void WriteWarning(string message) => Error.WriteLine("warning: " + message);
}
