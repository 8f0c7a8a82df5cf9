using System.Net;
using System.Net.Sockets;
using Bpi.Orchestration.Components.Tests.Routing;
using Bpi.Orchestration.Nginx;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Components.Tests.Nginx;

/// <summary>The nginx process manager on a real nginx: what only a reload can reveal, and stopping.</summary>
public sealed class NginxProcessTests
{
    [SkippableFact]
    public async Task A_reload_nginx_refuses_after_its_config_test_passed_is_reported_with_nginx_s_message_and_the_old_config_keeps_serving()
    {
        var nginxPath = NginxTestEnvironment.RequireNginx();
        var directory = NginxTestRouter.NewDirectory();
        var options = new CueNginxOptions { WorkerProcesses = 1 };
        var process = new NginxProcess(nginxPath, directory, options, TimeProvider.System, NullLogger.Instance);
        await using var blue = new TestBackend("blue");
        using var occupied = new TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        var busy = ((IPEndPoint)occupied.LocalEndpoint).Port;
        var free = TestBackend.Refusing().Port;
        var route = new TrafficRoute("shop/web", [new TrafficBackend(1, 100, [blue.Endpoint])]);
        process.Prepare();
        try
        {
            await File.WriteAllTextAsync(process.ConfigPath, NginxConfigRenderer.Render(options, directory, 1, [new NginxServiceConfig(route, free, new NginxServiceOptions())]));
            await process.StartAsync(1, CancellationToken.None);
            var master = process.MasterPid;

            // nginx -t ignores "address in use" (the live nginx holds its own ports), so only the reload can find out.
            await File.WriteAllTextAsync(process.ConfigPath, NginxConfigRenderer.Render(options, directory, 2, [new NginxServiceConfig(route, busy, new NginxServiceOptions())]));
            Assert.Equal(0, (await process.TestAsync(process.ConfigPath, CancellationToken.None)).ExitCode);
            var error = await Assert.ThrowsAsync<NginxException>(() => process.ReloadAsync(2, CancellationToken.None));

            Assert.Equal(OrchestrationErrorKind.NetworkSetupFailed, error.Kind);
            Assert.Contains($"bind() to 127.0.0.1:{busy} failed (98: Address already in use)", error.NginxMessage, StringComparison.Ordinal);
            Assert.StartsWith("[emerg] ", error.NginxMessage, StringComparison.Ordinal);
            Assert.True(CueNginxRouter.IsListenPortTaken(error));
            Assert.Equal(master, process.MasterPid);
            Assert.True(process.IsRunning);
            Assert.Equal(1, await process.QueryGenerationAsync(CancellationToken.None));
            Assert.Equal("blue", await RawHttpConnection.GetOnceAsync(new Runtime.ServiceEndpoint("127.0.0.1", free)));
        }
        finally
        {
            Assert.Equal("gracefully", await process.StopAsync());
            Assert.False(process.IsRunning);
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Only_emergency_alert_and_critical_lines_are_quoted_without_their_timestamps()
    {
        var said = NginxProcess.NginxSaid("""
            2026/11/30 01:51:19 [notice] 6592#6592: signal process started
            2026/11/30 01:51:19 [emerg] 6592#6592: bind() to 127.0.0.1:18081 failed (98: Address already in use)
            nginx: [emerg] unknown directive "bogus" in /p/conf/nginx.conf:12
            nginx: configuration file /p/conf/nginx.conf test failed
            """);

        Assert.Equal("[emerg] bind() to 127.0.0.1:18081 failed (98: Address already in use) [emerg] unknown directive \"bogus\" in /p/conf/nginx.conf:12", said);
        Assert.Equal("something else", NginxProcess.NginxSaid("something else\n"));
    }
}
