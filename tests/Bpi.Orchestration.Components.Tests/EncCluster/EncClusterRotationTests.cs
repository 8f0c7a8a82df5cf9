using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Components.Tests.Processes;
using Bpi.Orchestration.EncCluster;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.EncCluster;

/// <summary>Certificate rotation of a running EncCluster of SampleService processes, on a manual clock.</summary>
public sealed class EncClusterRotationTests
{
    [Fact]
    public async Task A_forced_rotation_under_load_fails_no_request_serves_the_new_certificate_and_refuses_the_old_one_after_the_grace_period()
    {
        await using var scope = new RuntimeScope();
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var audit = new RecordingAuditSink();
        await using var manager = new EncClusterManager(new EncClusterOptions(), clock, audit, sealer: null, () => "process", loggerFactory: null);
        await using var runtime = EncClusterWorkloadRuntime.Create(scope.Runtime, manager);
        manager.Members = runtime.Members;
        var enc = new EncClusterSpec { ClusterSize = 3, KeyRotationInterval = TimeSpan.FromHours(1), GracePeriod = TimeSpan.FromMinutes(2) };
        var marker = "rot-" + Guid.NewGuid().ToString("N")[..10];
        var revision = scope.Revision(
            new CommandSpec { FileName = RuntimeScope.SampleServiceDll },
            ports: [new PortSpec { ContainerPort = 8080 }],
            environment: new Dictionary<string, string> { ["SAMPLE_VERSION"] = marker, ["SAMPLE_LATENCY_MS"] = "20" }) with { EncCluster = enc };

        await runtime.EnsureReplicasAsync(revision, 3);
        var members = runtime.Members(scope.DeploymentId);
        Assert.Equal(3, members.Count);
        using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero });
        await Eventually.UntilAsync(
            async () =>
            {
                await runtime.GetInstancesAsync(scope.DeploymentId); // assigns members as instances come up
                var answers = 0;
                foreach (var member in runtime.Members(scope.DeploymentId))
                {
                    try
                    {
                        answers += (await client.GetStringAsync($"http://{member.PlainEndpoint}/health")).Contains("healthy", StringComparison.Ordinal) ? 1 : 0;
                    }
                    catch (HttpRequestException)
                    {
                    }
                }

                return answers;
            },
            answers => answers == 3,
            "every member to answer through mutual TLS");

        var identity = manager.Find(scope.DeploymentId)!;
        var old = identity.Current.Certificate;
        var tls = members[0].TlsEndpoint;

        // Load: four workers, a new connection (so a new handshake) per request, bounded in count.
        var load = new MarkerLoad(client, [.. members.Select(m => m.PlainEndpoint.ToString())], "/work", marker, workers: 4);
        EncClusterCertificate rotated;
        await using (load)
        {
            await load.WaitForMoreAsync(40, "load before the rotation");
            rotated = await manager.RotateAsync(scope.DeploymentId);
            await load.WaitForMoreAsync(40, "load after the rotation");
        }

        Assert.True(load.Failed == 0, $"{load.Failed} request(s) failed across the rotation: {load.FirstFailures}");
        Assert.NotEqual(old.SerialNumber, rotated.SerialNumber);
        Assert.Equal(old.SerialNumber, rotated.PreviousSerialNumber);
        Assert.Equal(clock.GetUtcNow() + enc.GracePeriod, rotated.PreviousAcceptedUntil);

        // The member now presents the new certificate; the old one is still let in during the grace period.
        var (fresh, presented) = await MutualTlsClient.GetAsync(tls, identity.Current.Certificate, identity);
        Assert.Contains(marker, fresh, StringComparison.Ordinal);
        Assert.Equal(rotated.SerialNumber, presented!.SerialNumber);
        var (withinGrace, _) = await MutualTlsClient.GetAsync(tls, old, identity);
        Assert.Contains(marker, withinGrace, StringComparison.Ordinal);

        clock.Advance(enc.GracePeriod + TimeSpan.FromSeconds(1));
        var (afterGrace, _) = await MutualTlsClient.GetAsync(tls, old, identity);
        Assert.DoesNotContain(marker, afterGrace, StringComparison.Ordinal);
        var (stillFresh, _) = await MutualTlsClient.GetAsync(tls, identity.Current.Certificate, identity);
        Assert.Contains(marker, stillFresh, StringComparison.Ordinal);

        var entry = Assert.Single(audit.Events, e => e.Action == EncClusterManager.RotationAuditAction);
        Assert.Equal(scope.DeploymentId, entry.Target);
        Assert.Equal("on-demand", entry.Data!["reason"]);
        Assert.Equal(rotated.SerialNumber, entry.Data["serial"]);
        Assert.Equal(old.SerialNumber, entry.Data["previousSerial"]);

        // The scheduled rotation: one interval after the first certificate, on the manual clock.
        clock.Advance(enc.KeyRotationInterval);
        await Eventually.UntilAsync(() => audit.Events.Count(e => e.Action == EncClusterManager.RotationAuditAction) == 2, "the scheduled rotation");
        var scheduled = audit.Events.Last(e => e.Action == EncClusterManager.RotationAuditAction);
        Assert.Equal("scheduled", scheduled.Data!["reason"]);
        Assert.Equal(rotated.SerialNumber, scheduled.Data["previousSerial"]);
        Assert.Equal(scheduled.Data["serial"], manager.GetCertificate(scope.DeploymentId)!.SerialNumber);

        await runtime.RemoveDeploymentAsync(scope.DeploymentId);
        Assert.Empty(runtime.Members(scope.DeploymentId));
        Assert.Null(manager.GetCertificate(scope.DeploymentId));
    }

    [Fact]
    public async Task A_replaced_member_keeps_its_peer_address_and_the_tls_listener_forwards_to_the_new_instance()
    {
        await using var scope = new RuntimeScope();
        await using var manager = new EncClusterManager(new EncClusterOptions(), TimeProvider.System, audit: null, sealer: null, () => "process", loggerFactory: null);
        await using var runtime = EncClusterWorkloadRuntime.Create(scope.Runtime, manager);
        var revision = scope.Revision(
            new CommandSpec { FileName = RuntimeScope.SampleServiceDll },
            ports: [new PortSpec { ContainerPort = 8080 }]) with { EncCluster = new EncClusterSpec { ClusterSize = 2 } };
        await runtime.EnsureReplicasAsync(revision, 2);
        var before = await Eventually.UntilAsync(async () => await runtime.GetInstancesAsync(scope.DeploymentId), i => i.Count(x => x.State == InstanceState.Running) == 2, "two running members");
        var peers = runtime.Members(scope.DeploymentId).Select(m => m.PlainEndpoint).ToList();

        var victim = before[0];
        await runtime.RemoveInstanceAsync(scope.DeploymentId, victim.InstanceId);
        await runtime.EnsureReplicasAsync(revision, 2);
        var after = await Eventually.UntilAsync(
            async () => await runtime.GetInstancesAsync(scope.DeploymentId),
            i => i.Count(x => x.State == InstanceState.Running) == 2 && i.All(x => x.InstanceId != victim.InstanceId || x.IsTerminated),
            "a replacement member");

        var membersAfter = runtime.Members(scope.DeploymentId);
        Assert.Equal(peers, membersAfter.Select(m => m.PlainEndpoint).Take(2));
        var replacement = after.Single(i => i.State == InstanceState.Running && before.All(b => b.InstanceId != i.InstanceId));
        Assert.Contains(membersAfter, m => m.InstanceId == replacement.InstanceId);
        Assert.Equal(membersAfter.Single(m => m.InstanceId == replacement.InstanceId).PlainEndpoint, replacement.Endpoint);
        using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero });
        var answer = await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    return await client.GetStringAsync($"http://{replacement.Endpoint}/version");
                }
                catch (HttpRequestException)
                {
                    return "";
                }
            },
            a => a.Length > 0,
            "the replacement to answer through its member's address");
        Assert.Contains(replacement.InstanceId, answer, StringComparison.Ordinal);
    }
}
