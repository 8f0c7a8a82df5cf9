using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>What one CLI invocation returned.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public JsonElement Json => JsonDocument.Parse(Output).RootElement;

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
}

/// <summary>A fresh state directory and a way to run the CLI's entry point in-process against it, as a new invocation each time.</summary>
internal sealed class CliSandbox : IDisposable
{
    public string StateDir { get; } = Path.Combine(Path.GetTempPath(), "bpi-cli-tests", Guid.NewGuid().ToString("N")[..10]);

    public string Dir(string name)
    {
        var path = Path.Combine(StateDir + "-files", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    public string WriteFile(string name, string text)
    {
        var path = Dir(name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Runs one command in-process: its own console writers, non-interactive, the state directory through the environment variable.</summary>
    public Task<CliResult> RunAsync(params string[] args) => RunAsync(args, interruptWhen: null);

    /// <summary>Further environment variables every command sees (beside the state directory and HOME).</summary>
    public Dictionary<string, string> Variables { get; } = [];

    /// <summary>Whether commands run as if a person watched a terminal (live progress, colours) instead of redirected output.</summary>
    public bool Interactive { get; set; }

    /// <summary>Starts a long-running command (such as <c>start</c>) and returns a handle to watch its output and interrupt it.</summary>
    public RunningCommand Start(params string[] args)
    {
        var interrupt = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var output = new WatchingWriter(null, interrupt);
        var error = new WatchingWriter(null, interrupt);
        var variables = new Dictionary<string, string>(Variables) { [CliEnvironment.StateDirVariable] = StateDir, ["HOME"] = StateDir + "-home" };
        var env = new CliEnvironment(output, error, interactive: false, name => variables.GetValueOrDefault(name));
        var run = Task.Run(async () => new CliResult(await CliApp.RunAsync(args, env, interrupt.Token), output.ToString(), error.ToString()));
        return new RunningCommand(run, output, interrupt);
    }

    /// <summary>Runs one command and interrupts it (as Ctrl+C does) once its stdout or stderr contains <paramref name="interruptWhen"/>.</summary>
    public async Task<CliResult> RunAsync(string[] args, string? interruptWhen)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var output = new WatchingWriter(interruptWhen, timeout);
        var error = new WatchingWriter(interruptWhen, timeout);
        var variables = new Dictionary<string, string>(Variables) { [CliEnvironment.StateDirVariable] = StateDir, ["HOME"] = StateDir + "-home" };
        var env = new CliEnvironment(output, error, Interactive, name => variables.GetValueOrDefault(name));
        var code = await CliApp.RunAsync(args, env, timeout.Token);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        foreach (var path in new[] { StateDir, StateDir + "-files", StateDir + "-home" })
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }
            }
            catch (IOException)
            {
            }
        }
    }

    public static string SampleServiceDll => Metadata("SampleServiceDll");

    public static string CliDll => Metadata("CliDll");

    private static string Metadata(string key) => Path.GetFullPath(typeof(CliSandbox).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!);
}

/// <summary>A command running in the background.</summary>
internal sealed class RunningCommand(Task<CliResult> completion, WatchingWriter output, CancellationTokenSource interrupt) : IAsyncDisposable
{
    public Task<CliResult> Completion { get; } = completion;

    /// <summary>Completes when stdout contains <paramref name="text"/> (or fails when the command ends first).</summary>
    public async Task<string> WaitForOutputAsync(string text)
    {
        var seen = output.WhenContains(text);
        var first = await Task.WhenAny(seen, Completion);
        Assert.True(first == seen, $"the command ended before printing '{text}': {(Completion.IsCompleted ? Completion.Result.ToString() : "")}");
        return output.ToString();
    }

    /// <summary>Interrupts the command as Ctrl+C does and returns its result.</summary>
    public async Task<CliResult> InterruptAsync()
    {
        await interrupt.CancelAsync();
        return await Completion;
    }

    public async ValueTask DisposeAsync()
    {
        await interrupt.CancelAsync();
        await ((Task)Completion).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        interrupt.Dispose();
    }
}

/// <summary>A string writer that cancels a token once what was written contains a marker, and tells waiters when text appears.</summary>
internal sealed class WatchingWriter(string? marker, CancellationTokenSource interrupt) : StringWriter(CultureInfo.InvariantCulture)
{
    private readonly List<(string Text, TaskCompletionSource Seen)> _waiters = [];

    public Task WhenContains(string text)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            _waiters.Add((text, seen));
        }

        Check();
        return seen.Task;
    }

    public override void Write(char value)
    {
        base.Write(value);
        Check();
    }

    public override void Write(string? value)
    {
        base.Write(value);
        Check();
    }

    public override void WriteLine(string? value)
    {
        base.WriteLine(value);
        Check();
    }

    private void Check()
    {
        string written;
        lock (GetStringBuilder())
        {
            written = GetStringBuilder().ToString();
        }

        lock (_waiters)
        {
            foreach (var waiter in _waiters.Where(w => written.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Seen.TrySetResult();
            }
        }

        if (marker is not null && !interrupt.IsCancellationRequested && GetStringBuilder().ToString().Contains(marker, StringComparison.Ordinal))
        {
            interrupt.Cancel();
        }
    }
}
