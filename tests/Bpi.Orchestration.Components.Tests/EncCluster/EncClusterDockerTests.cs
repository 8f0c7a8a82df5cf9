using System.Diagnostics;
using System.Text;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.EncCluster;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.EncCluster;

/// <summary>
/// EncCluster on the real Docker Engine: busybox members behind nginx stream sidecars in their network namespaces, on the
/// deployment's own bridge network. Captures on the bridge find no plaintext; openssl against a sidecar's bridge address
/// sees TLS 1.3 with TLS_AES_256_GCM_SHA384; rotation under load on a manual clock.
/// </summary>
[Collection(DockerEngineCollection.Name)]
public sealed class EncClusterDockerTests(DockerEngineFixture fixture)
{
    private static readonly SemaphoreSlim ImageGate = new(1, 1);
    private static bool _imageBuilt;

    [SkippableFact]
    public async Task A_three_member_enc_cluster_deploys_on_docker_and_a_capture_of_its_bridge_holds_no_plaintext_while_a_plain_deployments_does()
    {
        var tcpdump = TlsToolsTestEnvironment.Require("tcpdump");
        await RequireAsync();
        var marker = "enc-docker-" + Guid.NewGuid().ToString("N")[..12];
        var plainMarker = "plain-docker-" + Guid.NewGuid().ToString("N")[..12];
        var vmId = fixture.NewOwnerId();
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = vmId)
            .AddDocker(o => o.StopTimeout = TimeSpan.FromSeconds(2))
            .AddEncCluster(UseTestProxy)
            .AddInProcessRouter()
            .AddHealthProbes();
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var router = provider.GetRequiredService<InProcessTrafficRouter>();
        var manager = provider.GetRequiredService<IEncClusterManager>();
        await vm.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        string? id = null, plainId = null;
        try
        {
            id = await DeployAsync(vm, Spec(marker, DeploymentType.EncCluster), timeout.Token);
            plainId = await DeployAsync(vm, Spec(plainMarker, DeploymentType.DockLockContainer) with { Name = "plain" }, timeout.Token);

            var members = manager.GetMembers(id);
            Assert.Equal(3, members.Count);
            Assert.All(members, m => Assert.NotNull(m.InstanceId));
            var sidecars = await fixture.Client.ListContainersAsync(new Dictionary<string, string?> { [WorkloadLabels.Deployment] = id, [DockerSidecars.SidecarOfLabel] = null }, all: false, timeout.Token);
            Assert.Equal(3, sidecars.Count);
            foreach (var sidecar in sidecars)
            {
                var inspect = await fixture.Client.InspectContainerAsync(sidecar.ID, timeout.Token);
                var member = sidecar.Labels![DockerSidecars.SidecarOfLabel];
                Assert.StartsWith("container:", inspect.HostConfig!.NetworkMode, StringComparison.Ordinal);
                Assert.Equal((await fixture.Client.InspectContainerAsync(member, timeout.Token)).ID, inspect.HostConfig.NetworkMode!["container:".Length..]);
                Assert.DoesNotContain(inspect.Config!.Env ?? [], e => e.Contains("PRIVATE KEY", StringComparison.Ordinal));
            }

            // A member only publishes its sidecar's TLS port; its peers are local addresses inside it.
            var memberInspect = await fixture.Client.InspectContainerAsync(members[0].InstanceId!, timeout.Token);
            Assert.Equal([$"{EncDockerSidecars.TlsPort}/tcp"], memberInspect.HostConfig!.PortBindings!.Keys);
            Assert.Contains($"{EncClusterWorkloadRuntime.PeersVariable}=127.0.0.1:15000,127.0.0.1:15001,127.0.0.1:15002", memberInspect.Config!.Env!);

            var bridge = await BridgeAsync(id, timeout.Token);
            var plainBridge = await BridgeAsync(plainId, timeout.Token);
            using var files = new TempDirectory();
            await using var capture = await LoopbackCapture.StartAsync(tcpdump, Path.Combine(files.Path, "enc.pcap"), [], bridge);
            await using var control = await LoopbackCapture.StartAsync(tcpdump, Path.Combine(files.Path, "plain.pcap"), [], plainBridge);

            var answers = await GetManyAsync(router.GetEndpoint(TrafficRoute.ForComponent(id, "web"))!, 30);
            Assert.All(answers, a => Assert.Contains("version=" + marker, a, StringComparison.Ordinal));
            var plainAnswers = await GetManyAsync(router.GetEndpoint(TrafficRoute.ForComponent(plainId, "web"))!, 10);
            Assert.All(plainAnswers, a => Assert.Contains("version=" + plainMarker, a, StringComparison.Ordinal));

            // A member reaches each peer through its local peer address: plain inside the container, mutual TLS on the bridge.
            for (var peer = 0; peer < 3; peer++)
            {
                var fetched = await fixture.Client.ExecAsync(members[0].InstanceId!, ["wget", "-q", "-O", "-", $"http://127.0.0.1:{EncDockerSidecars.PeerPortBase + peer}/cgi-bin/version"], cancellationToken: timeout.Token);
                Assert.True(fetched.ExitCode == 0 && fetched.Output.Contains("version=" + marker, StringComparison.Ordinal), $"peer {peer}: exit {fetched.ExitCode}: {fetched.Output}");
            }

            var encrypted = await capture.StopAsync(minimumBytes: 30 * 1000);
            var plain = await control.StopAsync(minimumBytes: 10 * 100);
            Assert.True(plain.AsSpan().IndexOf(Encoding.ASCII.GetBytes(plainMarker)) >= 0, "the control capture of a plain deployment's bridge shows its marker, so the method would see plaintext");
            Assert.True(encrypted.AsSpan().IndexOf(Encoding.ASCII.GetBytes(marker)) < 0, "the marker crossed the EncCluster's bridge in plaintext");
            Assert.True(encrypted.AsSpan().IndexOf("GET /cgi-bin/version"u8) < 0, "a request crossed the EncCluster's bridge in plaintext");
            Assert.True(encrypted.AsSpan().IndexOf(new byte[] { 0x17, 0x03, 0x03 }) >= 0, "no TLS application data was captured on the bridge");

            foreach (var deployment in new[] { id, plainId })
            {
                await vm.DestroyAsync(deployment, cancellationToken: timeout.Token);
                await vm.WaitForStateAsync(deployment, s => s == DeploymentState.Destroyed, timeout.Token);
            }

            Assert.Empty(await fixture.Client.ListContainersAsync(new Dictionary<string, string?> { [WorkloadLabels.Deployment] = id }, all: true, timeout.Token));
            Assert.Empty(await fixture.Client.ListNetworksAsync(new Dictionary<string, string?> { [WorkloadLabels.Deployment] = id }, timeout.Token));
            id = plainId = null;
        }
        finally
        {
            await vm.StopAsync();
            foreach (var deployment in new[] { id, plainId }.OfType<string>())
            {
                await provider.GetRequiredService<IWorkloadRuntime>().RemoveDeploymentAsync(deployment);
            }
        }
    }

    [SkippableFact]
    public async Task Openssl_against_a_sidecars_bridge_address_sees_tls13_with_aes256gcm_and_a_client_without_this_clusters_certificate_is_refused()
    {
        var openssl = TlsToolsTestEnvironment.Require("openssl");
        await RequireAsync();
        var marker = "enc-ossl-" + Guid.NewGuid().ToString("N")[..10];
        await using var cluster = await Cluster.StartAsync(fixture, TimeProvider.System, marker, new EncClusterSpec { ClusterSize = 3 });
        var identity = cluster.Manager.Find(cluster.Revision.DeploymentId)!;
        var member = cluster.Runtime.Members(cluster.Revision.DeploymentId)[1];
        var inspect = await fixture.Client.InspectContainerAsync(member.InstanceId!);
        var address = inspect.NetworkSettings!.Networks![DockerNaming.NetworkName(cluster.Revision.DeploymentId)].IPAddress;

        using var files = new TempDirectory();
        var ca = Path.Combine(files.Path, "ca.pem");
        var certificate = Path.Combine(files.Path, "client.pem");
        var key = Path.Combine(files.Path, "client.key");
        await File.WriteAllTextAsync(ca, cluster.Manager.AuthorityCertificate.ExportCertificatePem());
        await File.WriteAllTextAsync(certificate, identity.Current.Certificate.ExportCertificatePem());
        using (var ecdsa = System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions.GetECDsaPrivateKey(identity.Current.Certificate)!)
        {
            await File.WriteAllTextAsync(key, ecdsa.ExportPkcs8PrivateKeyPem());
        }

        string[] common = ["s_client", "-connect", $"{address}:{EncDockerSidecars.TlsPort}", "-servername", identity.HostName, "-tls1_3", "-CAfile", ca, "-verify_return_error", "-ign_eof"];
        var withCertificate = await OpenSslClient.RunAsync(openssl, [.. common, "-ciphersuites", "TLS_AES_256_GCM_SHA384", "-cert", certificate, "-key", key], "/cgi-bin/version");
        Assert.Contains("TLSv1.3", withCertificate, StringComparison.Ordinal);
        Assert.Contains("Cipher is TLS_AES_256_GCM_SHA384", withCertificate, StringComparison.Ordinal);
        Assert.Contains("Verify return code: 0 (ok)", withCertificate, StringComparison.Ordinal);
        Assert.Contains("version=" + marker, withCertificate, StringComparison.Ordinal);

        var withoutCertificate = await OpenSslClient.RunAsync(openssl, [.. common, "-ciphersuites", "TLS_AES_256_GCM_SHA384"], "/cgi-bin/version");
        Assert.True(!withoutCertificate.Contains(marker, StringComparison.Ordinal) && !withoutCertificate.Contains("HTTP/1.", StringComparison.Ordinal), withoutCertificate);

        var otherSuite = await OpenSslClient.RunAsync(openssl, [.. common, "-ciphersuites", "TLS_AES_128_GCM_SHA256", "-cert", certificate, "-key", key], "/cgi-bin/version");
        Assert.DoesNotContain(marker, otherSuite, StringComparison.Ordinal);
        // Another cluster's certificate from the same CA chains, but is not this cluster's: no answer.
        var now = DateTimeOffset.UtcNow;
        using var foreign = cluster.Manager.Authority.Issue("enc-other", [identity.HostName], now.AddMinutes(-5), now.AddHours(1));
        var (foreignAnswer, _) = await MutualTlsClient.GetAsync(member.TlsEndpoint, foreign, identity, "/cgi-bin/version");
        Assert.DoesNotContain(marker, foreignAnswer, StringComparison.Ordinal);
        var (ownAnswer, _) = await MutualTlsClient.GetAsync(member.TlsEndpoint, identity.Current.Certificate, identity, "/cgi-bin/version");
        Assert.Contains(marker, ownAnswer, StringComparison.Ordinal);

        var tls12 = await OpenSslClient.RunAsync(openssl, ["s_client", "-connect", $"{address}:{EncDockerSidecars.TlsPort}", "-tls1_2", "-cert", certificate, "-key", key, "-ign_eof"], "/cgi-bin/version");
        Assert.DoesNotContain(marker, tls12, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_forced_rotation_under_load_on_docker_fails_no_request_serves_the_new_certificate_and_refuses_the_old_one_after_the_grace_period()
    {
        await RequireAsync();
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var marker = "enc-rot-" + Guid.NewGuid().ToString("N")[..10];
        var enc = new EncClusterSpec { ClusterSize = 3, KeyRotationInterval = TimeSpan.FromHours(1), GracePeriod = TimeSpan.FromSeconds(30) };
        await using var cluster = await Cluster.StartAsync(fixture, clock, marker, enc, ManualClockReloads);
        var deploymentId = cluster.Revision.DeploymentId;
        var identity = cluster.Manager.Find(deploymentId)!;
        var members = cluster.Runtime.Members(deploymentId);
        var old = identity.Current.Certificate;

        using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(10) };
        var load = new MarkerLoad(client, [.. members.Select(m => m.PlainEndpoint.ToString())], "/cgi-bin/version", marker, workers: 3);
        EncClusterCertificate rotated;
        await using (load)
        {
            await load.WaitForMoreAsync(30, "load before the rotation");
            rotated = await RotateAsync(clock, cluster, deploymentId);
            await load.WaitForMoreAsync(30, "load after the rotation");
        }

        Assert.True(load.Failed == 0, $"{load.Failed} request(s) failed across the rotation: {load.FirstFailures}");
        Assert.NotEqual(old.SerialNumber, rotated.SerialNumber);

        // Every sidecar presents the new certificate (the rotation confirmed each reload); the old one is let in during the grace period.
        foreach (var member in members)
        {
            var (fresh, presented) = await MutualTlsClient.GetAsync(member.TlsEndpoint, identity.Current.Certificate, identity, "/cgi-bin/version");
            Assert.Contains(marker, fresh, StringComparison.Ordinal);
            Assert.Equal(rotated.SerialNumber, presented!.SerialNumber);
        }

        var (withinGrace, _) = await MutualTlsClient.GetAsync(members[0].TlsEndpoint, old, identity, "/cgi-bin/version");
        Assert.True(withinGrace.Contains(marker, StringComparison.Ordinal), $"the old certificate was refused within its grace period; log: {cluster.LogText}");

        clock.Advance(enc.GracePeriod + TimeSpan.FromSeconds(1));
        foreach (var member in members)
        {
            // The CRL reaches each sidecar with a reload, which nginx applies to new connections a moment later.
            await Eventually.UntilAsync(
                async () => (await MutualTlsClient.GetAsync(member.TlsEndpoint, old, identity, "/cgi-bin/version")).Response,
                r => !r.Contains(marker, StringComparison.Ordinal),
                $"sidecar of {member.InstanceId} to refuse the rotated-out certificate after the grace period (CRL pushed); log: {cluster.LogText}");
            Assert.Contains(marker, (await MutualTlsClient.GetAsync(member.TlsEndpoint, identity.Current.Certificate, identity, "/cgi-bin/version")).Response, StringComparison.Ordinal);
        }

        // Peers still reach each other after the rotation (sidecar to sidecar with the new certificate).
        var fetched = await fixture.Client.ExecAsync(members[2].InstanceId!, ["wget", "-q", "-O", "-", $"http://127.0.0.1:{EncDockerSidecars.PeerPortBase}/cgi-bin/version"]);
        Assert.True(fetched.ExitCode == 0 && fetched.Output.Contains(marker, StringComparison.Ordinal), fetched.Output);
    }

    [SkippableFact]
    public async Task A_replaced_member_on_docker_inherits_its_slots_alias_so_peers_reach_it_at_the_same_local_address_and_its_old_sidecar_is_removed()
    {
        await RequireAsync();
        var marker = "enc-heal-" + Guid.NewGuid().ToString("N")[..10];
        await using var cluster = await Cluster.StartAsync(fixture, TimeProvider.System, marker, new EncClusterSpec { ClusterSize = 3 });
        var deploymentId = cluster.Revision.DeploymentId;
        var before = cluster.Runtime.Members(deploymentId);
        var victim = before[1];
        var survivor = before[0];

        // The member's container goes (as after a crash and the engine's removal); the next ensure replaces it.
        await fixture.Client.RemoveContainerAsync(victim.InstanceId!, force: true);
        await cluster.Runtime.EnsureReplicasAsync(cluster.Revision, 3);
        Assert.Empty(await fixture.Client.ListContainersAsync(new Dictionary<string, string?> { [DockerSidecars.SidecarOfLabel] = victim.InstanceId }, all: true));

        var after = cluster.Runtime.Members(deploymentId);
        var replacement = after[1];
        Assert.NotNull(replacement.InstanceId);
        Assert.NotEqual(victim.InstanceId, replacement.InstanceId);
        Assert.Equal(before.Select(m => m.PlainEndpoint), after.Select(m => m.PlainEndpoint));
        var inspect = await fixture.Client.InspectContainerAsync(replacement.InstanceId!);
        Assert.Equal("1", inspect.Config!.Labels![EncDockerSidecars.SlotLabel]);
        Assert.Contains(EncDockerSidecars.Alias("web", 1, 1), inspect.NetworkSettings!.Networks![DockerNaming.NetworkName(deploymentId)].Aliases!);
        Assert.Single(await fixture.Client.ListContainersAsync(new Dictionary<string, string?> { [DockerSidecars.SidecarOfLabel] = replacement.InstanceId }, all: false));

        // The survivor's peer address for slot 1 (unchanged in its BPI_ENC_PEERS) now reaches the replacement, encrypted.
        var reached = await Eventually.UntilAsync(
            async () => await fixture.Client.ExecAsync(survivor.InstanceId!, ["wget", "-q", "-O", "-", $"http://127.0.0.1:{EncDockerSidecars.PeerPortBase + 1}/cgi-bin/version"]),
            r => r.ExitCode == 0 && r.Output.Contains(marker, StringComparison.Ordinal),
            "the survivor to reach the replacement through its slot's local peer address");
        Assert.Contains(marker, reached.Output, StringComparison.Ordinal);
        using var client = new HttpClient();
        Assert.Contains(marker, await client.GetStringAsync($"http://{replacement.PlainEndpoint}/cgi-bin/version"), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_sidecar_whose_reload_never_takes_effect_fails_the_rotation_with_a_clear_error_and_every_sidecar_keeps_serving_the_old_certificate()
    {
        await RequireAsync();
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var marker = "enc-stuck-" + Guid.NewGuid().ToString("N")[..10];
        var enc = new EncClusterSpec { ClusterSize = 3, KeyRotationInterval = TimeSpan.FromHours(1), GracePeriod = TimeSpan.FromSeconds(30) };
        await using var cluster = await Cluster.StartAsync(fixture, clock, marker, enc, o => o.SidecarReloadTimeout = TimeSpan.FromSeconds(20));
        var deploymentId = cluster.Revision.DeploymentId;
        var identity = cluster.Manager.Find(deploymentId)!;
        var members = cluster.Runtime.Members(deploymentId);
        var old = identity.Current.Certificate;
        var stuck = DockerSidecars.NameFor(members[1].InstanceId!);

        // The sidecar's nginx master is stopped: `nginx -s reload` still succeeds (the signal is queued), and its worker goes
        // on serving the configuration it has — the reload that is hoped for and never happens.
        await fixture.Client.KillContainerAsync(stuck, "SIGSTOP");
        try
        {
            var failure = await Assert.ThrowsAsync<OrchestrationException>(() => RotateAsync(clock, cluster, deploymentId, stepMilliseconds: 1000));
            Assert.Equal(OrchestrationErrorKind.DeploymentFailed, failure.Kind);
            Assert.Contains(stuck, failure.Message, StringComparison.Ordinal);
            Assert.Contains("did not accept the next certificate", failure.Message, StringComparison.Ordinal);
            Assert.Contains("the reload has not taken effect", failure.Message, StringComparison.Ordinal);
            Assert.Contains("keep serving certificate " + old.SerialNumber, failure.Message, StringComparison.Ordinal);
            Assert.Equal(old.SerialNumber, identity.Current.Certificate.SerialNumber);
            Assert.Null(identity.Pending);

            // Every sidecar, the stuck one included, still presents the old certificate and lets it in; traffic flows.
            foreach (var member in members)
            {
                var (answer, presented) = await MutualTlsClient.GetAsync(member.TlsEndpoint, old, identity, "/cgi-bin/version");
                Assert.Contains(marker, answer, StringComparison.Ordinal);
                Assert.Equal(old.SerialNumber, presented!.SerialNumber);
            }

            using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(10) };
            foreach (var member in members)
            {
                Assert.Contains(marker, await client.GetStringAsync($"http://{member.PlainEndpoint}/cgi-bin/version"), StringComparison.Ordinal);
            }
        }
        finally
        {
            await fixture.Client.KillContainerAsync(stuck, "SIGCONT");
        }

        // Once the sidecar's nginx runs again it first works through the reload queued while it was stopped (the
        // rollback's): wait, in real time, until that is done — one worker taking connections, none shutting down — so
        // the next rotation's reload is not raced against it. Then the next rotation goes through everywhere.
        await Eventually.UntilAsync(
            async () => await fixture.Client.ListProcessCommandsAsync(stuck),
            commands => commands.Count(c => c.Trim() == "nginx: worker process") == 1 && !commands.Any(c => c.Contains("shutting down", StringComparison.Ordinal)),
            $"sidecar {stuck} to settle after SIGCONT (one nginx worker, none shutting down)",
            TimeSpan.FromSeconds(60));
        // The stuck rotation above had a 20 s window of the manual clock, which RotateAsync moves through in a second or
        // two of real time: short, so that the clock stays well within the certificates' 5-minute back-dating (nginx
        // checks them against the real clock). This rotation must go through on a loaded machine, so it gets the window
        // every other manual-clock rotation here has (a failed run showed two healthy sidecars still reloading after 20 s).
        cluster.Manager.Options.SidecarReloadTimeout = TimeSpan.FromMinutes(3);
        EncClusterCertificate rotated;
        try
        {
            rotated = await RotateAsync(clock, cluster, deploymentId);
        }
        catch (OrchestrationException ex)
        {
            // Say what the sidecars ran and logged, so a failure here can be told from a slow machine.
            var processes = string.Join(" | ", await fixture.Client.ListProcessCommandsAsync(stuck));
            throw new InvalidOperationException($"The rotation after SIGCONT failed: {ex.Message}{Environment.NewLine}Processes of {stuck}: {processes}{Environment.NewLine}Warnings and errors logged:{Environment.NewLine}{cluster.LastWarningsAndErrors()}", ex);
        }

        foreach (var member in members)
        {
            var (answer, presented) = await MutualTlsClient.GetAsync(member.TlsEndpoint, identity.Current.Certificate, identity, "/cgi-bin/version");
            Assert.Contains(marker, answer, StringComparison.Ordinal);
            Assert.Equal(rotated.SerialNumber, presented!.SerialNumber);
        }
    }

    [SkippableFact]
    public async Task A_member_restarted_in_place_on_docker_gets_its_sidecar_back_without_an_ensure_and_peers_and_the_orchestrator_reach_it_again()
    {
        await RequireAsync();
        var marker = "enc-again-" + Guid.NewGuid().ToString("N")[..10];
        await using var cluster = await Cluster.StartAsync(fixture, TimeProvider.System, marker, new EncClusterSpec { ClusterSize = 3 });
        var deploymentId = cluster.Revision.DeploymentId;
        var members = cluster.Runtime.Members(deploymentId);
        var victim = members[1];
        var sidecarName = DockerSidecars.NameFor(victim.InstanceId!);
        var sidecarBefore = (await fixture.Client.InspectContainerAsync(sidecarName)).ID;

        // `docker restart`: the same container runs again, in a new network namespace; nobody calls EnsureReplicasAsync.
        await fixture.Client.StopContainerAsync(victim.InstanceId!, TimeSpan.FromSeconds(1));
        await fixture.Client.StartContainerAsync(victim.InstanceId!);

        var sidecar = await Eventually.UntilAsync(
            async () => (await fixture.Client.ListContainersAsync(new Dictionary<string, string?> { [DockerSidecars.SidecarOfLabel] = victim.InstanceId }, all: false)).ToList(),
            list => list.Count == 1 && list[0].ID != sidecarBefore,
            "a new sidecar for the restarted member",
            TimeSpan.FromSeconds(60));
        Assert.Equal(victim.InstanceId, cluster.Runtime.Members(deploymentId)[1].InstanceId);

        using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    return await client.GetStringAsync($"http://{victim.PlainEndpoint}/cgi-bin/version");
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return ex.Message;
                }
            },
            answer => answer.Contains(marker, StringComparison.Ordinal),
            "the orchestrator to reach the restarted member through its new sidecar",
            TimeSpan.FromSeconds(60));
        var reached = await Eventually.UntilAsync(
            async () => await fixture.Client.ExecAsync(members[0].InstanceId!, ["wget", "-q", "-O", "-", $"http://127.0.0.1:{EncDockerSidecars.PeerPortBase + 1}/cgi-bin/version"]),
            r => r.ExitCode == 0 && r.Output.Contains(marker, StringComparison.Ordinal),
            "a peer to reach the restarted member through its slot's local peer address");
        Assert.Contains(marker, reached.Output, StringComparison.Ordinal);
        Assert.Equal(sidecar[0].ID, Assert.Single(await fixture.Client.ListContainersAsync(new Dictionary<string, string?> { [DockerSidecars.SidecarOfLabel] = victim.InstanceId }, all: true)).ID);
    }

    /// <summary>A manual clock only moves when the test moves it: reloads are checked on it, so give them room.</summary>
    private static void ManualClockReloads(EncClusterOptions options) => options.SidecarReloadTimeout = TimeSpan.FromMinutes(3);

    /// <summary>
    /// Rotates on demand, moving the manual clock by <paramref name="stepMilliseconds"/> whenever the rotation waits on it
    /// between checks of a sidecar's reload — only while the sidecars are being switched (the next certificate is pending),
    /// so the clock never runs on into the grace period the rotation has just started (its timer waits on the clock too).
    /// </summary>
    private static async Task<EncClusterCertificate> RotateAsync(ManualTimeProvider clock, Cluster cluster, string deploymentId, double stepMilliseconds = 100)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var identity = cluster.Manager.Find(deploymentId)!;
        var rotation = cluster.Manager.RotateAsync(deploymentId, timeout.Token).AsTask();
        while (!rotation.IsCompleted && identity.Pending is not null)
        {
            await Task.WhenAny(rotation, clock.WaitForTimersAsync(1, timeout.Token));
            timeout.Token.ThrowIfCancellationRequested();
            if (!rotation.IsCompleted && identity.Pending is not null)
            {
                clock.Advance(TimeSpan.FromMilliseconds(stepMilliseconds));
            }
        }

        return await rotation;
    }

    private static void UseTestProxy(EncClusterOptions options)
    {
        options.DockerProxyImage = NginxStreamTestImage.Reference;
        options.DockerProxyModules.Add(NginxStreamTestImage.StreamModule);
    }

    private async Task RequireAsync()
    {
        await fixture.RequireEngineAsync();
        DockerTestEnvironment.RequirePrerequisite(NginxStreamTestImage.MissingPrerequisite);
        await ImageGate.WaitAsync();
        try
        {
            if (!_imageBuilt)
            {
                await NginxStreamTestImage.BuildAsync((tar, repository, tag, changes) => fixture.Client.ImportImageAsync(tar, repository, tag, changes));
                _imageBuilt = true;
            }
        }
        finally
        {
            ImageGate.Release();
        }
    }

    private static DeploymentSpec Spec(string marker, DeploymentType type) => new()
    {
        Name = "enc",
        AppId = "shop",
        Environment = "test",
        Type = type,
        EncCluster = type == DeploymentType.EncCluster ? new EncClusterSpec { ClusterSize = 3 } : null,
        Components =
        [
            DockerEngineFixture.HttpComponent(version: marker) with
            {
                Replicas = 3,
                HealthCheck = new HealthCheckSpec { Path = "/health", Period = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1) },
            },
        ],
        Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(100) },
    };

    private static async Task<string> DeployAsync(IOrchestrationVm vm, DeploymentSpec spec, CancellationToken cancellationToken)
    {
        var id = await vm.DeployAsync(spec, cancellationToken: cancellationToken);
        var status = await vm.WaitUntilSettledAsync(id, cancellationToken);
        Assert.True(status.State == DeploymentState.Running, $"{spec.Name}: {status.State}: {status.Message}");
        return id;
    }

    private async Task<string> BridgeAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var network = await fixture.Client.InspectNetworkAsync(DockerNaming.NetworkName(deploymentId), cancellationToken);
        return network.Options is { } options && options.TryGetValue("com.docker.network.bridge.name", out var name) ? name : "br-" + network.ID[..12];
    }

    private static async Task<List<string>> GetManyAsync(ServiceEndpoint endpoint, int count)
    {
        using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero });
        var answers = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{endpoint}/cgi-bin/version");
            request.Headers.ConnectionClose = true;
            using var response = await client.SendAsync(request);
            response.EnsureSuccessStatusCode();
            answers.Add(await response.Content.ReadAsStringAsync());
        }

        return answers;
    }

    /// <summary>A 3-member EncCluster revision on the Docker runtime, without the VM (so its clock can be manual), removed on dispose.</summary>
    private sealed class Cluster : IAsyncDisposable
    {
        private Cluster(DockerWorkloadRuntime docker, EncClusterManager manager, EncClusterWorkloadRuntime runtime, WorkloadRevision revision)
        {
            Docker = docker;
            Manager = manager;
            Runtime = runtime;
            Revision = revision;
        }

        public DockerWorkloadRuntime Docker { get; }

        public EncClusterManager Manager { get; }

        public EncClusterWorkloadRuntime Runtime { get; }

        public WorkloadRevision Revision { get; }

        /// <summary>What the EncCluster manager logged (for assertion messages).</summary>
        public required CapturingLoggerProvider Logs { get; init; }

        /// <summary>The last 12 warnings and errors logged, one indented line each: what a failure message shows.</summary>
        public string LastWarningsAndErrors() => string.Join(Environment.NewLine, Logs.Messages
            .Where(m => m.Contains(" Warning ", StringComparison.Ordinal) || m.Contains(" Error ", StringComparison.Ordinal))
            .TakeLast(12)
            .Select(m => "  " + m));

        public string LogText => string.Join("\n", Logs.Messages.Where(m => !m.Contains(" Debug ", StringComparison.Ordinal)));

        public static async Task<Cluster> StartAsync(DockerEngineFixture fixture, TimeProvider clock, string marker, EncClusterSpec enc, Action<EncClusterOptions>? configure = null)
        {
            var options = new EncClusterOptions();
            UseTestProxy(options);
            configure?.Invoke(options);
            var docker = fixture.CreateRuntime();
            var logs = new CapturingLoggerProvider();
            var manager = new EncClusterManager(options, clock, audit: null, sealer: null, () => "docker", new LoggerFactory([logs]));
            var runtime = EncClusterWorkloadRuntime.Create(docker, manager);
            manager.Members = runtime.Members;
            var revision = fixture.Revision(DockerEngineFixture.HttpComponent(version: marker)) with { EncCluster = enc };
            var cluster = new Cluster(docker, manager, runtime, revision) { Logs = logs };
            try
            {
                await runtime.EnsureReplicasAsync(revision, enc.ClusterSize);
                await WaitUntilEveryMemberAnswersAsync(runtime, revision, marker, enc.ClusterSize);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Nothing of a cluster that never came up is left on the engine; the failure says what its proxies saw.
                await cluster.DisposeAsync();
                throw new InvalidOperationException($"The cluster did not come up: {ex.Message}{Environment.NewLine}Warnings and errors logged:{Environment.NewLine}{cluster.LastWarningsAndErrors()}", ex);
            }

            return cluster;
        }

        private static async Task WaitUntilEveryMemberAnswersAsync(EncClusterWorkloadRuntime runtime, WorkloadRevision revision, string marker, int size)
        {
            using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(5) };
            await Eventually.UntilAsync(
                async () =>
                {
                    await runtime.GetInstancesAsync(revision.DeploymentId);
                    var answers = 0;
                    foreach (var member in runtime.Members(revision.DeploymentId))
                    {
                        try
                        {
                            answers += (await client.GetStringAsync($"http://{member.PlainEndpoint}/cgi-bin/version")).Contains(marker, StringComparison.Ordinal) ? 1 : 0;
                        }
                        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                        {
                        }
                    }

                    return answers;
                },
                answers => answers == size,
                "every member to answer through its sidecar",
                TimeSpan.FromSeconds(90));
        }

        public async ValueTask DisposeAsync()
        {
            await Runtime.RemoveDeploymentAsync(Revision.DeploymentId);
            await Runtime.DisposeAsync();
            await Manager.DisposeAsync();
            await Docker.DisposeAsync();
        }
    }
}
