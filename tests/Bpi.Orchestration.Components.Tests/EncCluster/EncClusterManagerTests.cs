using Bpi.Orchestration.EncCluster;
using Bpi.Orchestration.Security.Secrets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.EncCluster;

/// <summary>What the EncCluster component manager refuses, and how it keeps its certificate authority.</summary>
public sealed class EncClusterManagerTests
{
    private static DeploymentSpec Spec(EncClusterSpec? enc = null) => EncClusterHost.Spec("m", enc);

    [Fact]
    public async Task Type_EncCluster_without_the_component_manager_is_refused_instead_of_running_unencrypted()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "vm-enc-none").AddProcessRuntime(o => o.StateDirectory = Path.Combine(Path.GetTempPath(), "bpi-orchestration-tests", "vm-enc-none"));
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var error = await Assert.ThrowsAsync<OrchestrationException>(() => vm.DeployAsync(Spec()));
        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("AddEncCluster()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_manager_refuses_runtimes_it_cannot_serve_and_accepts_the_process_and_docker_runtimes()
    {
        foreach (var (runtime, expected) in new (string?, string?)[] { ("process", null), ("docker", null), ("kubernetes", "'kubernetes'"), (null, "AddProcessRuntime()") })
        {
            var manager = new EncClusterManager(new EncClusterOptions(), TimeProvider.System, null, null, () => runtime, null);
            var problems = manager.Check(Spec());
            if (expected is null)
            {
                Assert.Empty(problems);
            }
            else
            {
                Assert.Contains(problems, p => p.StartsWith("type: ", StringComparison.Ordinal) && p.Contains(expected, StringComparison.Ordinal));
            }
        }

        var kubernetes = new EncClusterManager(new EncClusterOptions(), TimeProvider.System, null, null, () => "kubernetes", null).Check(Spec());
        Assert.Contains(kubernetes, p => p.Contains("can follow later", StringComparison.Ordinal));
    }

    [Fact]
    public void On_docker_the_manager_refuses_components_without_a_tcp_port_or_on_the_sidecars_ports_listing_each()
    {
        var manager = new EncClusterManager(new EncClusterOptions(), TimeProvider.System, null, null, () => "docker", null);
        var component = Spec().Components[0];
        var spec = Spec() with
        {
            Components =
            [
                component with { Id = "none", Ports = [new PortSpec { ContainerPort = 53, Protocol = PortProtocol.Udp }] },
                component with { Id = "tls", Ports = [new PortSpec { ContainerPort = EncDockerSidecars.TlsPort }] },
                component with { Id = "peer", Ports = [new PortSpec { ContainerPort = EncDockerSidecars.PeerPortBase + 2 }] },
            ],
        };

        var problems = manager.Check(spec);
        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("components[none].ports: ", StringComparison.Ordinal) && p.Contains("has none", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("components[tls].ports: 8443 is taken", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("components[peer].ports: 15002 is taken", StringComparison.Ordinal));
        Assert.Empty(new EncClusterManager(new EncClusterOptions(), TimeProvider.System, null, null, () => "process", null).Check(spec));
    }

    [Fact]
    public void A_spec_lists_every_enc_cluster_problem_at_once()
    {
        var spec = Spec(new EncClusterSpec { EncryptionAlgorithm = "chacha20", KeyRotationInterval = TimeSpan.FromSeconds(10), ClusterSize = 0, GracePeriod = TimeSpan.FromHours(1) });
        var problems = spec.Validate();
        Assert.Contains(problems, p => p.StartsWith("encCluster.encryptionAlgorithm: 'chacha20' is not supported", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("encCluster.keyRotationInterval: ", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("encCluster.gracePeriod: ", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("encCluster.clusterSize: 0 is less than 1", StringComparison.Ordinal));

        Assert.Contains((Spec() with { EncCluster = null }).Validate(), p => p.StartsWith("encCluster: type EncCluster needs its settings", StringComparison.Ordinal));
        Assert.Contains((Spec() with { Type = DeploymentType.DockLockContainer }).Validate(), p => p.StartsWith("encCluster: is set but type is DockLockContainer", StringComparison.Ordinal));
        var wrongReplicas = Spec() with { Components = [Spec().Components[0] with { Replicas = 2, Autoscaling = new AutoscalingSpec { MinReplicas = 1, MaxReplicas = 3, TargetCpuUtilizationPercent = 50 } }] };
        Assert.Contains(wrongReplicas.Validate(), p => p.StartsWith("components[0].replicas: 2 differs from encCluster.clusterSize 3", StringComparison.Ordinal));
        Assert.Contains(wrongReplicas.Validate(), p => p.StartsWith("components[0].autoscaling: an EncCluster has a fixed clusterSize", StringComparison.Ordinal));
        Assert.Contains((Spec() with { Components = [Spec().Components[0] with { Ports = [] }] }).Validate(), p => p.StartsWith("components[0].ports: ", StringComparison.Ordinal));
        Assert.Empty(Spec().Validate());
        Assert.Equal(TimeSpan.FromSeconds(86400), new EncClusterSpec().KeyRotationInterval);
    }

    [Fact]
    public async Task The_authority_key_is_sealed_at_rest_and_the_same_authority_is_loaded_again()
    {
        using var directory = new TempDirectory();
        var file = Path.Combine(directory.Path, "ca.json");
        using var ring = SecretKeyRing.Generate();
        var sealer = new SecretProtector(ring);
        string thumbprint;
        await using (var first = new EncClusterManager(new EncClusterOptions { AuthorityFile = file }, TimeProvider.System, null, sealer, () => "process", null))
        {
            thumbprint = first.AuthorityCertificate.Thumbprint;
        }

        var stored = await File.ReadAllTextAsync(file);
        Assert.DoesNotContain("PRIVATE KEY", stored, StringComparison.Ordinal);
        Assert.Contains(SecretProtector.Prefix, stored, StringComparison.Ordinal);
        await using (var second = new EncClusterManager(new EncClusterOptions { AuthorityFile = file }, TimeProvider.System, null, sealer, () => "process", null))
        {
            Assert.Equal(thumbprint, second.AuthorityCertificate.Thumbprint);
            Assert.True(second.AuthorityCertificate.HasPrivateKey);
        }

        using var otherRing = SecretKeyRing.Generate();
        var wrongKey = Assert.Throws<OrchestrationException>(() => new EncClusterManager(new EncClusterOptions { AuthorityFile = file }, TimeProvider.System, null, new SecretProtector(otherRing), () => "process", null));
        Assert.Contains(file, wrongKey.Message, StringComparison.Ordinal);
        var noSealer = Assert.Throws<OrchestrationException>(() => new EncClusterManager(new EncClusterOptions { AuthorityFile = file }, TimeProvider.System, null, null, () => "process", null));
        Assert.Contains("AddSecretProtection", noSealer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_options_are_listed_in_one_options_validation_exception()
    {
        var options = new EncClusterOptions { ListenAddress = "nowhere", AuthorityLifetime = TimeSpan.FromHours(1), HandshakeTimeout = TimeSpan.Zero };
        var error = Assert.Throws<OptionsValidationException>(() => ValidatedOptions.Ensure(options, new EncClusterOptionsValidator()));
        var problems = OptionsProblems.Of(error, typeof(EncClusterOptions));
        Assert.Equal(3, problems.Count);
    }

    [Fact]
    public async Task A_rotation_whose_proxies_do_not_confirm_is_abandoned_the_current_certificate_stays_the_next_is_revoked_and_the_failure_is_audited()
    {
        var audit = new Infrastructure.RecordingAuditSink();
        await using var manager = new EncClusterManager(new EncClusterOptions(), TimeProvider.System, audit, null, () => "docker", null);
        var identity = manager.GetOrCreate("dep-abandon", "abandon", new EncClusterSpec { ClusterSize = 1 });
        var current = identity.Current.Certificate.SerialNumber;
        string? pending = null;
        manager.Rotating = (id, next, cancellationToken) =>
        {
            pending = next.Certificate.SerialNumber;
            Assert.Same(next, id.Pending);
            Assert.True(id.Accepts(next.Certificate, out _), "the next certificate is accepted while the proxies switch to it");
            throw new OrchestrationException(OrchestrationErrorKind.DeploymentFailed, "sidecar x did not present the next certificate");
        };

        var failure = await Assert.ThrowsAsync<OrchestrationException>(() => manager.RotateAsync("dep-abandon").AsTask());

        Assert.Contains("sidecar x", failure.Message, StringComparison.Ordinal);
        Assert.Equal(current, identity.Current.Certificate.SerialNumber);
        Assert.Null(identity.Pending);
        Assert.Contains(pending!, identity.RevokedSerials());
        Assert.Equal(current, manager.GetCertificate("dep-abandon")!.SerialNumber);
        var audited = Assert.Single(audit.Events);
        Assert.Equal((EncClusterManager.RotationAuditAction, "failed"), (audited.Action, audited.Outcome));
        Assert.Equal(pending, audited.Data!["abandonedSerial"]);
    }
}
