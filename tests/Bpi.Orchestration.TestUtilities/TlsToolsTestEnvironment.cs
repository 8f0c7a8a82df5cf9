using System.Diagnostics;
using Xunit;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// Whether <c>tcpdump</c> and <c>openssl</c> are there for the encrypted-traffic tests (installed by
/// <c>.ci/engines/tls-tools.sh</c>). Without them those tests skip with a clear message — unless
/// <c>BPI_REQUIRE_TLS_TOOLS=1</c>, which turns the skip into a failure so CI can never pass by skipping.
/// </summary>
public static class TlsToolsTestEnvironment
{
    /// <summary>The variable that makes an absent tool a failure: <c>BPI_REQUIRE_TLS_TOOLS</c>.</summary>
    public const string RequireVariable = "BPI_REQUIRE_TLS_TOOLS";

    /// <summary>Whether the tools are required (<c>BPI_REQUIRE_TLS_TOOLS=1</c>).</summary>
    public static bool IsRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>The tool's path; skips the calling <c>[SkippableFact]</c> without it, or fails it when the tools are required.</summary>
    /// <param name="tool"><c>tcpdump</c> or <c>openssl</c>.</param>
    /// <returns>The absolute path of the tool.</returns>
    public static string Require(string tool)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/usr/sbin").Split(':').Append("/usr/sbin").Append("/usr/bin")
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
        if (path is not null)
        {
            return path;
        }

        var problem = $"{tool} is not installed; run `source .ci/engines/tls-tools.sh`.";
        if (IsRequired)
        {
            throw new InvalidOperationException($"{RequireVariable}=1 but the TLS tests cannot run: {problem}");
        }

        Skip.If(true, $"{problem} Set {RequireVariable}=1 to make this a failure.");
        return "";
    }
}

/// <summary>
/// A <c>tcpdump -i lo -U -w FILE</c> capture of some TCP ports. Started once tcpdump says it is listening; stopped with
/// SIGINT after the file has stopped growing (each packet is written as it is captured, <c>-U</c>), so no wait is fixed.
/// </summary>
public sealed class LoopbackCapture : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LoopbackCapture(string file, Process process)
    {
        File = file;
        _process = process;
    }

    /// <summary>The capture file.</summary>
    public string File { get; }

    /// <summary>Starts capturing the given ports on the loopback interface into <paramref name="file"/>.</summary>
    /// <param name="tcpdump">The tcpdump binary.</param>
    /// <param name="file">The capture file.</param>
    /// <param name="ports">The TCP ports.</param>
    /// <returns>The capture, once tcpdump listens.</returns>
    public static Task<LoopbackCapture> StartAsync(string tcpdump, string file, IEnumerable<int> ports) => StartAsync(tcpdump, file, ports, "lo");

    /// <summary>Starts capturing the given ports (every TCP packet when none) on <paramref name="networkInterface"/> (for example a Docker network's bridge) into <paramref name="file"/>.</summary>
    /// <param name="tcpdump">The tcpdump binary.</param>
    /// <param name="file">The capture file.</param>
    /// <param name="ports">The TCP ports; empty for all TCP.</param>
    /// <param name="networkInterface">The interface.</param>
    /// <returns>The capture, once tcpdump listens.</returns>
    public static async Task<LoopbackCapture> StartAsync(string tcpdump, string file, IEnumerable<int> ports, string networkInterface)
    {
        var filter = string.Join(" or ", ports.Select(p => "tcp port " + p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        filter = filter.Length == 0 ? "tcp" : filter;
        var info = new ProcessStartInfo(tcpdump) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-i", networkInterface, "-U", "-n", "-s", "0", "-w", file, filter })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        var capture = new LoopbackCapture(file, process);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("listening on", StringComparison.Ordinal) == true)
            {
                capture._listening.TrySetResult();
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await Eventually.UntilAsync(() => capture._listening.Task.IsCompleted || process.HasExited, "tcpdump to listen on " + networkInterface);
        Assert.False(process.HasExited, $"tcpdump exited with {(process.HasExited ? process.ExitCode : 0)} before listening");
        return capture;
    }

    /// <summary>Waits until the file has at least <paramref name="minimumBytes"/> and stopped growing between two looks, then stops tcpdump.</summary>
    /// <param name="minimumBytes">The least the capture must hold.</param>
    /// <returns>The captured bytes.</returns>
    public async Task<byte[]> StopAsync(long minimumBytes)
    {
        long last = -1;
        await Eventually.UntilAsync(
            () =>
            {
                var size = new FileInfo(File).Length;
                var stable = size >= minimumBytes && size == last;
                last = size;
                return stable;
            },
            $"the capture {File} to hold at least {minimumBytes} bytes and stop growing");
        await InterruptAsync();
        return await System.IO.File.ReadAllBytesAsync(File);
    }

    private async Task InterruptAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!)
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _process.WaitForExitAsync(timeout.Token);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await InterruptAsync();
        }
        finally
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            _process.Dispose();
        }
    }
}
