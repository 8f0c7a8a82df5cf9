using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Bpi.Orchestration.PostgreSql.Tests.MultiInstance;

/// <summary>One crash-host process (an orchestrator instance): commands on stdin, lines from stdout, stderr kept for failures.</summary>
internal sealed class CrashHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stderr = new();
    private readonly List<string> _seen = [];

    private CrashHostProcess(Process process, string instance)
    {
        _process = process;
        Instance = instance;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.Writer.TryComplete();
                return;
            }

            lock (_seen)
            {
                _seen.Add(e.Data);
            }

            _lines.Writer.TryWrite(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Instance { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public bool HasPrinted(string prefix)
    {
        lock (_seen)
        {
            return _seen.Any(l => l.StartsWith(prefix, StringComparison.Ordinal));
        }
    }

    public static CrashHostProcess Start(string connectionString, string schema, string instance, int leaseMs, int stepDelayMs)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "Bpi.Orchestration.PostgreSql.CrashHost.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var argument in new[] { host, connectionString, schema, instance, leaseMs.ToString(System.Globalization.CultureInfo.InvariantCulture), stepDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        return new CrashHostProcess(Process.Start(start)!, instance);
    }

    public async Task SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>The next stdout line starting with <paramref name="prefix"/> (lines before it are skipped).</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(cancel.Token);
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return line;
                }

                if (line.StartsWith("error ", StringComparison.Ordinal))
                {
                    Assert.Fail($"instance {Instance}: {line}\n{Stderr}");
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            Assert.Fail($"instance {Instance} never printed '{prefix}…' (exited: {_process.HasExited}).\n{Stderr}");
            throw;
        }
    }

    /// <summary>SIGKILL: no finally blocks, no lease release, no flush.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public void Signal(string signal) => Process.Start("kill", ["-" + signal, Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    /// <summary>Asks the instance to stop cleanly and waits for it to exit; returns its exit code.</summary>
    public async Task<int> ExitAsync()
    {
        await SendAsync("exit");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
