using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Components.Tests.Processes;
using Bpi.Orchestration.EncCluster;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.EncCluster;

/// <summary>An orchestrator with the process runtime, the in-process router and EncCluster, for one test.</summary>
internal sealed class EncClusterHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly List<string> _deployments = [];

    private EncClusterHost(ServiceProvider provider, string vmId, RecordingAuditSink audit)
    {
        _provider = provider;
        Audit = audit;
        VmId = vmId;
        Vm = provider.GetRequiredService<IOrchestrationVm>();
        Router = provider.GetRequiredService<InProcessTrafficRouter>();
        Manager = provider.GetRequiredService<EncClusterManager>();
        Runtime = provider.GetRequiredService<IWorkloadRuntime>();
    }

    public IWorkloadRuntime Runtime { get; }

    public string VmId { get; }

    public IOrchestrationVm Vm { get; }

    public InProcessTrafficRouter Router { get; }

    public EncClusterManager Manager { get; }

    public RecordingAuditSink Audit { get; }

    public static async Task<EncClusterHost> StartAsync()
    {
        Assert.True(File.Exists(RuntimeScope.SampleServiceDll), "the sample service is built with the tests: " + RuntimeScope.SampleServiceDll);
        var vmId = "vm-enc-" + Guid.NewGuid().ToString("N")[..8];
        var stateDirectory = Path.Combine(Path.GetTempPath(), "bpi-orchestration-tests", vmId);
        var audit = new RecordingAuditSink();
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = vmId)
            .AddProcessRuntime(o => o.StateDirectory = stateDirectory)
            .AddEncCluster()
            .AddInProcessRouter()
            .AddHealthProbes()
            .UseAuditSink(audit);
        var host = new EncClusterHost(services.BuildServiceProvider(), vmId, audit);
        await host.Vm.StartAsync();
        return host;
    }

    public static DeploymentSpec Spec(string marker, EncClusterSpec? enc = null, int latencyMs = 0) => new()
    {
        Name = "enc",
        AppId = "shop",
        Environment = "test",
        Type = DeploymentType.EncCluster,
        EncCluster = enc ?? new EncClusterSpec { ClusterSize = 3 },
        Components =
        [
            new ComponentSpec
            {
                Id = "web",
                Command = new CommandSpec { FileName = RuntimeScope.SampleServiceDll },
                Replicas = (enc ?? new EncClusterSpec { ClusterSize = 3 }).ClusterSize,
                Ports = [new PortSpec { ContainerPort = 8080 }],
                Environment = new Dictionary<string, string> { ["SAMPLE_VERSION"] = marker, ["SAMPLE_LATENCY_MS"] = latencyMs.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                HealthCheck = new HealthCheckSpec { Path = "/health", Period = TimeSpan.FromMilliseconds(500), Timeout = TimeSpan.FromMilliseconds(500) },
            },
        ],
        Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(100) },
    };

    /// <summary>Deploys and waits until the deployment runs.</summary>
    public async Task<string> DeployAsync(DeploymentSpec spec)
    {
        var id = await Vm.DeployAsync(spec);
        _deployments.Add(id);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var status = await Vm.WaitUntilSettledAsync(id, timeout.Token);
        Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message}");
        return id;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            foreach (var id in _deployments)
            {
                await Vm.DestroyAsync(id, cancellationToken: timeout.Token);
                await Vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, timeout.Token);
                await Eventually.UntilAsync(() => ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count == 0, $"every process of {id} to be gone");
            }
        }
        finally
        {
            await _provider.DisposeAsync();
        }
    }
}

/// <summary>A mutual-TLS client speaking HTTP/1.0 to a member's TLS listener, as a peer outside the orchestrator would.</summary>
internal static class MutualTlsClient
{
    /// <summary>Sends <c>GET path</c> with <paramref name="clientCertificate"/>; returns the response text (empty when the server closed the connection without answering) and the server's certificate.</summary>
    public static Task<(string Response, X509Certificate2? ServerCertificate)> GetAsync(ServiceEndpoint tls, X509Certificate2? clientCertificate, ClusterIdentity identity, string path = "/version")
        => GetAsync(tls, clientCertificate, identity.HostName, server => identity.Accepts(server, out _), path);

    /// <summary>As above, with the server certificate judged by <paramref name="acceptServer"/>.</summary>
    public static async Task<(string Response, X509Certificate2? ServerCertificate)> GetAsync(ServiceEndpoint tls, X509Certificate2? clientCertificate, string host, Func<X509Certificate2, bool> acceptServer, string path = "/version")
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(tls.Host, tls.Port);
        await using var ssl = new SslStream(tcp.GetStream());
        X509Certificate2? server = null;
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = host,
            ClientCertificateContext = clientCertificate is null ? null : SslStreamCertificateContext.Create(clientCertificate, null, offline: true),
            EnabledSslProtocols = SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                server = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return server is not null && acceptServer(server);
            },
        });
        try
        {
            await ssl.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n"));
            await ssl.FlushAsync();
            using var reader = new StreamReader(ssl, Encoding.ASCII);
            return (await reader.ReadToEndAsync(), server);
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException)
        {
            // TLS 1.3: the server judges the client certificate after the client's handshake is done, and refuses by closing.
            return ("", server);
        }
    }
}

/// <summary><c>openssl</c> run with one HTTP/1.0 request on its input (for <c>s_client</c>); its output and errors together.</summary>
internal static class OpenSslClient
{
    public static async Task<string> RunAsync(string openssl, string[] arguments, string path)
    {
        var info = new System.Diagnostics.ProcessStartInfo(openssl) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            await process.StandardInput.WriteAsync($"GET {path} HTTP/1.0\r\nHost: enc\r\n\r\n");
            await process.StandardInput.FlushAsync();
        }
        catch (IOException)
        {
            // openssl already gave up (a refused handshake): its output says why.
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return await output + "\n" + await errors;
    }
}

/// <summary>
/// Requests through the members' plain endpoints from a few workers, a new connection (so a new handshake behind it) per
/// request, counting answers that carry the marker and everything else as a failure — the load a rotation must not disturb.
/// </summary>
internal sealed class MarkerLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _failures = new();
    private readonly Task[] _workers;
    private long _succeeded;
    private long _failed;

    public MarkerLoad(HttpClient client, IReadOnlyList<string> endpoints, string path, string marker, int workers)
        => _workers = [.. Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkAsync(client, endpoints, path, marker, w)))];

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>The first few failures, for an assertion's message.</summary>
    public string FirstFailures => string.Join(" | ", _failures.Take(5));

    /// <summary>Waits until <paramref name="more"/> further requests have succeeded.</summary>
    public Task WaitForMoreAsync(long more, string what)
    {
        var target = Succeeded + more;
        return Eventually.UntilAsync(() => Succeeded >= target, what);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        _stop.Dispose();
    }

    private async Task WorkAsync(HttpClient client, IReadOnlyList<string> endpoints, string path, string marker, int worker)
    {
        for (var i = 0; i < 5000 && !_stop.IsCancellationRequested; i++)
        {
            var endpoint = endpoints[(worker + i) % endpoints.Count];
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{endpoint}{path}");
                request.Headers.ConnectionClose = true;
                using var response = await client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                if (response.IsSuccessStatusCode && body.Contains(marker, StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref _succeeded);
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                    _failures.Enqueue($"{(int)response.StatusCode} {body}");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref _failed);
                _failures.Enqueue(ex.Message);
            }
        }
    }
}
