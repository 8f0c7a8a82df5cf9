using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Bpi.Orchestration.Components;
using Bpi.Orchestration.Processes;
using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Nginx;

/// <summary>The outcome of one nginx command.</summary>
internal readonly record struct NginxCommandResult(int ExitCode, string Output);

/// <summary>
/// Runs one nginx of our own: its prefix, config, pid file, error log and control socket all live in the state
/// directory, never the system service's. Starts it (nginx daemonizes, so it outlives the orchestrator), checks configs
/// (<c>nginx -t</c>), reloads it gracefully and confirms the reload took effect, stops it, and adopts a running one after
/// an orchestrator restart, but only when the pid still belongs to this prefix's nginx master. Every signal goes to the
/// recorded master after a check of its start time, so a recycled pid is never signalled. Not thread-safe: the router
/// serializes calls.
/// </summary>
internal sealed class NginxProcess
{
    private const int SigHup = 1;
    private const int SigQuit = 3;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan TerminateTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ControlTimeout = TimeSpan.FromSeconds(2);

    private readonly CueNginxOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public NginxProcess(string executable, string prefix, CueNginxOptions options, TimeProvider time, ILogger logger)
    {
        Executable = executable;
        Prefix = prefix;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public string Executable { get; }

    public string Prefix { get; }

    public string ConfigPath => Path.Combine(Prefix, "conf", "nginx.conf");

    public string ErrorLogPath => Path.Combine(Prefix, "logs", "error.log");

    public string PidFilePath => Path.Combine(Prefix, "nginx.pid");

    public string ControlSocketPath => Path.Combine(Prefix, NginxConfigRenderer.ControlSocketName);

    /// <summary>The master's pid; 0 when nginx is not running (as far as this instance knows).</summary>
    public int MasterPid { get; private set; }

    /// <summary>The master's start time; with the pid it identifies the process.</summary>
    public long MasterStartTicks { get; private set; }

    public bool IsRunning => MasterPid != 0 && OsProcesses.IsSameProcess(MasterPid, MasterStartTicks);

    /// <summary>The nginx executable: the configured path or name, else <c>nginx</c> on PATH, else <c>/usr/sbin/nginx</c>; <see langword="null"/> when none exists.</summary>
    public static string? Locate(string? configured)
    {
        if (configured is not null)
        {
            return ProcessLaunch.ResolveExecutable(configured);
        }

        return ProcessLaunch.ResolveExecutable("nginx") ?? (File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null);
    }

    /// <summary>Creates the prefix's directories.</summary>
    public void Prepare()
    {
        Directory.CreateDirectory(Path.Combine(Prefix, "conf"));
        Directory.CreateDirectory(Path.Combine(Prefix, "logs"));
        Directory.CreateDirectory(Path.Combine(Prefix, "temp"));
    }

    /// <summary>
    /// Adopts the master recorded in the state file when it is still running and is this prefix's nginx. Otherwise
    /// remembers it, so that <see cref="StartAsync"/> can remove workers a killed master left listening on our ports.
    /// </summary>
    public bool TryAdopt(int pid, long startTicks)
    {
        var ours = pid > 0 && OsProcesses.IsSameProcess(pid, startTicks) && IsOurMaster(pid);
        (MasterPid, MasterStartTicks) = ours || !OsProcesses.IsSameProcess(pid, startTicks) ? (pid, startTicks) : (0, 0);
        return ours;
    }

    /// <summary>Adopts the master named by the pid file when it is this prefix's nginx (the state file did not know it).</summary>
    public bool TryAdoptFromPidFile()
    {
        if (!File.Exists(PidFilePath)
            || !int.TryParse(File.ReadAllText(PidFilePath).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || OsProcesses.TryRead(pid) is not { IsZombie: false } info)
        {
            return false;
        }

        if (!IsOurMaster(pid))
        {
            Log.NginxPidNotOurs(_logger, PidFilePath, pid);
            return false;
        }

        (MasterPid, MasterStartTicks) = (pid, info.StartTicks);
        return true;
    }

    /// <summary>Runs <c>nginx -t</c> against a config file (the candidate, not the live one).</summary>
    public Task<NginxCommandResult> TestAsync(string configPath, CancellationToken cancellationToken)
        => RunAsync(["-t", "-q", "-p", Prefix + "/", "-e", ErrorLogPath, "-c", configPath], cancellationToken);

    /// <summary>Starts nginx on <see cref="ConfigPath"/> and waits until its master runs and serves <paramref name="generation"/>.</summary>
    /// <exception cref="NginxException">nginx could not start (its message is quoted).</exception>
    public async Task StartAsync(long generation, CancellationToken cancellationToken)
    {
        // Workers of a killed master keep listening on our ports, and its control socket would make the bind fail.
        await RemoveLeftoversAsync(cancellationToken).ConfigureAwait(false);
        File.Delete(ControlSocketPath);
        File.Delete(PidFilePath);
        var result = await RunAsync(["-p", Prefix + "/", "-e", ErrorLogPath, "-c", ConfigPath], cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            var said = NginxSaid(result.Output);
            throw new NginxException(OrchestrationErrorKind.NetworkSetupFailed, $"nginx did not start (exit code {result.ExitCode}): {said} Fix what nginx reports and apply again.", said);
        }

        (MasterPid, MasterStartTicks) = (0, 0);
        var started = _time.GetTimestamp();
        while (true)
        {
            if (MasterPid == 0 && TryAdoptFromPidFile())
            {
                Log.NginxStarted(_logger, MasterPid, Prefix);
            }

            if (MasterPid != 0 && await QueryGenerationAsync(cancellationToken).ConfigureAwait(false) == generation)
            {
                return;
            }

            if (_time.GetElapsedTime(started) > _options.CommandTimeout)
            {
                var said = NginxSaid(ReadErrorLog(0));
                throw new NginxException(OrchestrationErrorKind.Timeout, $"nginx was started but did not serve its config within {_options.CommandTimeout}: {said}", said);
            }

            await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reloads gracefully (what <c>nginx -s reload</c> does: SIGHUP to the master) and waits until new workers serve
    /// <paramref name="generation"/> and every old worker stopped accepting connections, so new connections see the new config.
    /// </summary>
    /// <exception cref="NginxException">The master refused the new config (its message is quoted) or stopped; the previous config stays live.</exception>
    public async Task ReloadAsync(long generation, CancellationToken cancellationToken)
    {
        var logOffset = ErrorLogLength();
        var oldWorkers = Workers().Where(w => !w.ShuttingDown).Select(w => w.Process).ToList();
        if (!OsProcesses.Signal(MasterPid, MasterStartTicks, SigHup))
        {
            throw NotRunning();
        }

        var started = _time.GetTimestamp();
        while (true)
        {
            // A refused reload is logged by the master at [emerg]; workers' [alert]/[crit] lines (e.g. under load) are not about it.
            var emergencies = EmergencyLines(ReadErrorLog(logOffset), "[emerg]");
            if (emergencies.Count > 0)
            {
                var said = string.Join(" ", emergencies.Distinct());
                throw new NginxException(OrchestrationErrorKind.NetworkSetupFailed, "nginx refused to reload: " + said, said);
            }

            if (!IsRunning)
            {
                throw NotRunning();
            }

            if (await QueryGenerationAsync(cancellationToken).ConfigureAwait(false) == generation && oldWorkers.All(StoppedAccepting))
            {
                return;
            }

            if (_time.GetElapsedTime(started) > _options.ReloadTimeout)
            {
                throw new NginxException(OrchestrationErrorKind.Timeout, $"nginx did not finish reloading within {_options.ReloadTimeout}; check {ErrorLogPath}.", "");
            }

            await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops nginx: gracefully (SIGQUIT, open requests finish) within the shutdown timeout, else SIGTERM, else SIGKILL.</summary>
    /// <returns>How it stopped, or <see langword="null"/> when it was not running.</returns>
    public async Task<string?> StopAsync()
    {
        if (!IsRunning)
        {
            (MasterPid, MasterStartTicks) = (0, 0);
            return null;
        }

        var pid = MasterPid;
        var workers = Workers().Select(w => w.Process).ToList();
        var how = "gracefully";
        if (!(OsProcesses.Signal(pid, MasterStartTicks, SigQuit) && await WaitForExitAsync(_options.ShutdownTimeout).ConfigureAwait(false)))
        {
            how = "terminated after the shutdown timeout";
            if (!(OsProcesses.Signal(pid, MasterStartTicks, OsProcesses.SigTerm) && await WaitForExitAsync(TerminateTimeout).ConfigureAwait(false)))
            {
                how = "killed";
                OsProcesses.KillAll([new OsProcessInfo(pid, 0, 0, MasterStartTicks, false), .. workers]);
                await WaitForExitAsync(TerminateTimeout).ConfigureAwait(false);
            }
        }

        OsProcesses.KillAll(workers);
        (MasterPid, MasterStartTicks) = (0, 0);
        Log.NginxStopped(_logger, pid, how);
        return how;
    }

    /// <summary>
    /// Kills what a master that died without a graceful stop left behind: nginx's master leads its own process group
    /// (it calls setsid when it daemonizes), and its workers stay in that group after it is gone.
    /// </summary>
    private async Task RemoveLeftoversAsync(CancellationToken cancellationToken)
    {
        if (MasterPid == 0 || IsRunning)
        {
            return;
        }

        var leftovers = OsProcesses.GroupMembers(MasterPid, MasterStartTicks);
        if (leftovers.Count > 0)
        {
            OsProcesses.KillAll(leftovers);
            Log.NginxLeftoversKilled(_logger, leftovers.Count, MasterPid);

            // SIGKILL lands asynchronously: the new master must not bind while the old workers still hold the ports.
            await OsProcesses.WaitUntilGoneAsync(leftovers, _time, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The generation the control server answers, or <see langword="null"/> when nothing answers.</summary>
    public async Task<long?> QueryGenerationAsync(CancellationToken cancellationToken)
        => await GetControlAsync(NginxConfigRenderer.GenerationPath, cancellationToken).ConfigureAwait(false) is { } body
            && long.TryParse(body.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var generation)
            ? generation
            : null;

    /// <summary>nginx's connection and request counters (<c>stub_status</c>), or <see langword="null"/> when nothing answers.</summary>
    public async Task<NginxStatus?> QueryStatusAsync(CancellationToken cancellationToken)
    {
        var generation = await QueryGenerationAsync(cancellationToken).ConfigureAwait(false);
        var body = await GetControlAsync(NginxConfigRenderer.StatusPath, cancellationToken).ConfigureAwait(false);
        return generation is null || body is null ? null : NginxStatus.Parse(body, generation.Value, MasterPid);
    }

    /// <summary>GETs a path of the control server over its unix socket; the body of a 200, else <see langword="null"/>.</summary>
    private async Task<string?> GetControlAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(ControlSocketPath))
        {
            return null;
        }

        using var timeout = new CancellationTokenSource(ControlTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(ControlSocketPath), linked.Token).ConfigureAwait(false);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET " + path + " HTTP/1.0\r\nHost: bpi\r\n\r\n"), SocketFlags.None, linked.Token).ConfigureAwait(false);
            var response = new MemoryStream();
            var buffer = new byte[1024];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, linked.Token).ConfigureAwait(false)) > 0 && response.Length < 16 * 1024)
            {
                response.Write(buffer, 0, read);
            }

            var text = Encoding.ASCII.GetString(response.ToArray());
            var body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            return text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) && body >= 0 ? text[(body + 4)..] : null;
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The <c>[emerg]</c>, <c>[alert]</c> and <c>[crit]</c> lines of nginx's output without their timestamps; the whole output when it has none.</summary>
    internal static string NginxSaid(string output)
    {
        var lines = EmergencyLines(output);
        if (lines.Count > 0)
        {
            return string.Join(" ", lines.Distinct());
        }

        var trimmed = output.Trim();
        return trimmed.Length == 0 ? "(nginx printed nothing)" : trimmed;
    }

    private static List<string> EmergencyLines(string text, params string[] levels)
    {
        if (levels.Length == 0)
        {
            levels = ["[emerg]", "[alert]", "[crit]"];
        }

        var found = new List<string>();
        foreach (var raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = -1;
            foreach (var level in levels)
            {
                var index = raw.IndexOf(level, StringComparison.Ordinal);
                if (index >= 0 && (at < 0 || index < at))
                {
                    at = index;
                }
            }

            if (at < 0)
            {
                continue;
            }

            // "2026/11/30 01:51:19 [emerg] 6592#6592: bind() ..." → "[emerg] bind() ..."
            var line = raw[at..];
            var close = line.IndexOf(']', StringComparison.Ordinal);
            var rest = line[(close + 1)..].TrimStart();
            var hash = rest.IndexOf(": ", StringComparison.Ordinal);
            if (hash > 0 && rest[..hash].All(c => char.IsAsciiDigit(c) || c is '#' or '*' or ' '))
            {
                rest = rest[(hash + 2)..];
            }

            found.Add(line[..(close + 1)] + " " + rest);
        }

        return found;
    }

    private bool IsOurMaster(int pid)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true; // No /proc to read the title from: the pid and its start time are all there is.
        }

        var title = ReadTitle(pid);
        return title is not null && title.StartsWith("nginx: master process", StringComparison.Ordinal) && title.EndsWith(" -c " + ConfigPath, StringComparison.Ordinal);
    }

    /// <summary>The process title nginx sets (<c>nginx: worker process</c>, …), from <c>/proc/&lt;pid&gt;/cmdline</c>.</summary>
    private static string? ReadTitle(int pid)
    {
        try
        {
            return File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private List<(OsProcessInfo Process, bool ShuttingDown)> Workers()
    {
        var workers = new List<(OsProcessInfo, bool)>();
        if (MasterPid == 0 || !OperatingSystem.IsLinux())
        {
            return workers;
        }

        foreach (var child in OsProcesses.Descendants(MasterPid))
        {
            if (ReadTitle(child.Pid) is { } title && title.StartsWith("nginx: worker process", StringComparison.Ordinal))
            {
                workers.Add((child, title.EndsWith("is shutting down", StringComparison.Ordinal)));
            }
        }

        return workers;
    }

    /// <summary>An old worker stops accepting when it sets its title to "is shutting down" (it closes its listeners in the same step) or exits.</summary>
    private static bool StoppedAccepting(OsProcessInfo worker)
        => !OsProcesses.IsSameProcess(worker.Pid, worker.StartTicks)
            || ReadTitle(worker.Pid) is not { } title
            || title.EndsWith("is shutting down", StringComparison.Ordinal);

    private async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        var started = _time.GetTimestamp();
        while (OsProcesses.IsSameProcess(MasterPid, MasterStartTicks))
        {
            if (_time.GetElapsedTime(started) > timeout)
            {
                return false;
            }

            await Task.Delay(PollInterval, _time).ConfigureAwait(false);
        }

        return true;
    }

    private long ErrorLogLength()
    {
        try
        {
            return new FileInfo(ErrorLogPath).Exists ? new FileInfo(ErrorLogPath).Length : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private string ReadErrorLog(long offset)
    {
        try
        {
            using var stream = new FileStream(ErrorLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length <= offset)
            {
                return "";
            }

            stream.Seek(offset, SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private NginxException NotRunning()
        => new(OrchestrationErrorKind.RuntimeUnavailable, $"nginx (master pid {MasterPid.ToString(CultureInfo.InvariantCulture)}, prefix {Prefix}) is not running any more; see {ErrorLogPath}. The next change starts it again.", "");

    private async Task<NginxCommandResult> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(Executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            WorkingDirectory = Prefix,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new NginxException(OrchestrationErrorKind.RuntimeUnavailable, $"nginx ({Executable}) could not be started.", "");
        using var timeout = new CancellationTokenSource(_options.CommandTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(linked.Token);
            var stderr = process.StandardError.ReadToEndAsync(linked.Token);
            await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
            var output = (await stderr.ConfigureAwait(false)) + (await stdout.ConfigureAwait(false));
            return new NginxCommandResult(process.ExitCode, output);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            throw new NginxException(OrchestrationErrorKind.Timeout, $"nginx {string.Join(' ', arguments)} did not finish within {_options.CommandTimeout}.", "");
        }
    }
}
