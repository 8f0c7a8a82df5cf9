using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace Bpi.Orchestration.Server.Tests;

/// <summary>The built server sample running as a child process on a free loopback port, with its own state directory.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, Uri address, string stateDirectory)
    {
        _process = process;
        Address = address;
        StateDirectory = stateDirectory;
    }

    public Uri Address { get; }

    public string StateDirectory { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the server wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static string AssemblyPath => typeof(ServerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ServerAssembly").Value!;

    /// <summary>Starts <c>dotnet Bpi.Orchestration.Server.dll --urls http://127.0.0.1:PORT</c> with settings as environment variables.</summary>
    public static ServerProcess Start(string stateDirectory, IReadOnlyDictionary<string, string>? settings = null)
    {
        Assert.True(File.Exists(AssemblyPath), $"the server sample is not built at {AssemblyPath}");
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = stateDirectory,
        };
        start.ArgumentList.Add(AssemblyPath);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["Server__StateDirectory"] = stateDirectory;
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var server = new ServerProcess(process, new Uri($"http://127.0.0.1:{port}"), stateDirectory);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits until the server answers its health endpoint (fails early, with its output, when it exits).</summary>
    public async Task WaitUntilReadyAsync()
    {
        using var probe = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(10) };
        await Eventually.UntilAsync(
            async () =>
            {
                Assert.False(_process.HasExited, $"the server exited with {(_process.HasExited ? _process.ExitCode : 0)}:\n{Output}");
                try
                {
                    using var response = await probe.GetAsync("/health/orchestration");
                    return response.StatusCode;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // Not listening yet, or a first answer slower than the probe's timeout (a loaded machine, a database
                    // schema being created): not ready yet.
                    return HttpStatusCode.ServiceUnavailable;
                }
            },
            status => status == HttpStatusCode.OK,
            "the server answers /health/orchestration",
            TimeSpan.FromSeconds(90));
    }

    /// <summary>Waits (at most a minute) until the server exits by itself and its output is read to the end; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Asks the server to stop with SIGTERM (as a service manager would) and waits for it to exit.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await _process.WaitForExitAsync(timeout.Token);
        }

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

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
