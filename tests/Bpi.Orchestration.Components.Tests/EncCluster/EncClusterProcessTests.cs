using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bpi.Orchestration.Components.Tests.Processes;
using Bpi.Orchestration.EncCluster;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.EncCluster;

/// <summary>EncCluster on real processes (SampleService), deployed through the VM: encryption on the wire, TLS parameters seen by openssl.</summary>
public sealed class EncClusterProcessTests
{
    [SkippableFact]
    public async Task A_three_member_enc_cluster_deploys_through_the_vm_and_a_loopback_capture_of_its_traffic_holds_no_plaintext()
    {
        var tcpdump = TlsToolsTestEnvironment.Require("tcpdump");
        var marker = "enc-marker-" + Guid.NewGuid().ToString("N")[..12];
        await using var host = await EncClusterHost.StartAsync();
        var id = await host.DeployAsync(EncClusterHost.Spec(marker));

        var members = host.Manager.GetMembers(id);
        Assert.Equal(3, members.Count);
        Assert.All(members, m => Assert.NotNull(m.InstanceId));
        var instances = await GetInstancesAsync(host, id);
        Assert.Equal(3, instances.Count);
        // Each member's first endpoint is the orchestrator-side address that encrypts to it; the second its TLS listener.
        Assert.All(instances, i => Assert.Equal(EncClusterWorkloadRuntime.TlsEndpointName, i.Endpoints[1].Name));
        var peers = string.Join(',', members.Select(m => m.PlainEndpoint.ToString()));
        Assert.Equal(3, ProcFs.WithEnvironment(EncClusterWorkloadRuntime.PeersVariable + "=" + peers).Count);

        using var workloadPorts = new TempDirectory();
        var encrypted = Path.Combine(workloadPorts.Path, "tls.pcap");
        var plainSide = Path.Combine(workloadPorts.Path, "workload.pcap");
        var upstreamPorts = WorkloadPorts(id);
        await using var tlsCapture = await LoopbackCapture.StartAsync(tcpdump, encrypted, members.Select(m => m.TlsEndpoint.Port));
        await using var workloadCapture = await LoopbackCapture.StartAsync(tcpdump, plainSide, upstreamPorts);

        var endpoint = host.Router.GetEndpoint(TrafficRoute.ForComponent(id, "web"));
        Assert.NotNull(endpoint);
        using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero });
        var answers = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{endpoint}/version");
            request.Headers.ConnectionClose = true;
            using var response = await client.SendAsync(request);
            response.EnsureSuccessStatusCode();
            answers.Add((await response.Content.ReadAsStringAsync()).Trim());
        }

        // A member reaches a peer through BPI_ENC_PEERS (the same path: plain on its side, mutual TLS on the wire).
        using (var peerRequest = new HttpRequestMessage(HttpMethod.Get, $"http://{members[2].PlainEndpoint}/version"))
        {
            peerRequest.Headers.ConnectionClose = true;
            using var peerResponse = await client.SendAsync(peerRequest);
            Assert.StartsWith(marker, await peerResponse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.All(answers, a => Assert.StartsWith(marker + " ", a, StringComparison.Ordinal));
        Assert.Equal(3, answers.Select(a => a[(marker.Length + 1)..]).Distinct().Count());
        var tlsBytes = await tlsCapture.StopAsync(minimumBytes: 31 * 1000);
        var plainBytes = await workloadCapture.StopAsync(minimumBytes: 31 * 100);

        var needle = Encoding.ASCII.GetBytes(marker);
        Assert.True(plainBytes.AsSpan().IndexOf(needle) >= 0, "the capture of the workloads' own ports shows the marker, so the method would see plaintext");
        Assert.True(tlsBytes.AsSpan().IndexOf(needle) < 0, "the marker crossed the members' TLS ports in plaintext");
        Assert.True(tlsBytes.AsSpan().IndexOf("GET /version"u8) < 0, "a request crossed the members' TLS ports in plaintext");
        // TLS 1.3 application-data records (content type 23, legacy version 3.3) are on the wire.
        Assert.True(tlsBytes.AsSpan().IndexOf(new byte[] { 0x17, 0x03, 0x03 }) >= 0, "no TLS application data was captured");
    }

    [SkippableFact]
    public async Task Openssl_sees_tls13_with_aes256gcm_and_a_client_without_a_cluster_certificate_is_refused()
    {
        var openssl = TlsToolsTestEnvironment.Require("openssl");
        var marker = "enc-marker-" + Guid.NewGuid().ToString("N")[..12];
        await using var host = await EncClusterHost.StartAsync();
        var id = await host.DeployAsync(EncClusterHost.Spec(marker));
        var member = host.Manager.GetMembers(id)[0];
        var identity = host.Manager.Find(id)!;
        using var files = new TempDirectory();
        var ca = Path.Combine(files.Path, "ca.pem");
        var certificate = Path.Combine(files.Path, "client.pem");
        var key = Path.Combine(files.Path, "client.key");
        await File.WriteAllTextAsync(ca, host.Manager.AuthorityCertificate.ExportCertificatePem());
        await File.WriteAllTextAsync(certificate, identity.Current.Certificate.ExportCertificatePem());
        using (var ecdsa = identity.Current.Certificate.GetECDsaPrivateKey()!)
        {
            await File.WriteAllTextAsync(key, ecdsa.ExportPkcs8PrivateKeyPem());
        }

        var connect = member.TlsEndpoint.ToString();
        string[] common = ["s_client", "-connect", connect, "-servername", identity.HostName, "-tls1_3", "-CAfile", ca, "-verify_return_error", "-ign_eof"];

        var withCertificate = await OpenSslClient.RunAsync(openssl, [.. common, "-ciphersuites", "TLS_AES_256_GCM_SHA384", "-cert", certificate, "-key", key], "/version");
        Assert.Contains("TLSv1.3", withCertificate, StringComparison.Ordinal);
        Assert.Contains("Cipher is TLS_AES_256_GCM_SHA384", withCertificate, StringComparison.Ordinal);
        Assert.Contains("Verify return code: 0 (ok)", withCertificate, StringComparison.Ordinal);
        Assert.Contains(marker, withCertificate, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 200", withCertificate, StringComparison.Ordinal);

        var withoutCertificate = await OpenSslClient.RunAsync(openssl, [.. common, "-ciphersuites", "TLS_AES_256_GCM_SHA384"], "/version");
        // TLS 1.3 finishes the client's side of the handshake before the server judges the (missing) certificate; the
        // member then closes the connection without reading the request, so no HTTP answer comes back.
        Assert.True(!withoutCertificate.Contains(marker, StringComparison.Ordinal) && !withoutCertificate.Contains("HTTP/1.1", StringComparison.Ordinal), withoutCertificate);

        var otherSuite = await OpenSslClient.RunAsync(openssl, [.. common, "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-cert", certificate, "-key", key], "/version");
        Assert.DoesNotContain(marker, otherSuite, StringComparison.Ordinal);
        Assert.DoesNotContain("Cipher is TLS_AES_128_GCM_SHA256", otherSuite, StringComparison.Ordinal);

        var tls12 = await OpenSslClient.RunAsync(openssl, ["s_client", "-connect", connect, "-tls1_2", "-cert", certificate, "-key", key, "-ign_eof"], "/version");
        Assert.DoesNotContain(marker, tls12, StringComparison.Ordinal);
        Assert.DoesNotContain("TLSv1.2, Cipher is", tls12, StringComparison.Ordinal);
    }

    private static async Task<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(EncClusterHost host, string id)
    {
        var status = await host.Vm.GetStatusAsync(id);
        Assert.Equal(DeploymentState.Running, status.State);
        return [.. (await host.Runtime.GetInstancesAsync(id)).Where(i => i.State == InstanceState.Running)];
    }

    /// <summary>The ports the SampleService processes listen on themselves (their PORT variable).</summary>
    private static int[] WorkloadPorts(string id)
    {
        var ports = new List<int>();
        foreach (var pid in ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id))
        {
            var environment = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
            ports.Add(int.Parse(environment.Single(e => e.StartsWith("PORT=", StringComparison.Ordinal))["PORT=".Length..], System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(3, ports.Count);
        return [.. ports];
    }
}
