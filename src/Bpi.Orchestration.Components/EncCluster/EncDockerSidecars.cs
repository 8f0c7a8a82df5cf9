using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Bpi.Orchestration.Components;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Runtime;
using Docker.DotNet.Models;

namespace Bpi.Orchestration.EncCluster;

/// <summary>
/// EncCluster on Docker. Each member container publishes only its TLS port (<see cref="TlsPort"/>) and answers on the
/// deployment network to a stable alias per slot (<see cref="Alias"/>, which a replacement inherits); next to it runs an
/// nginx stream sidecar in its network namespace that terminates mutual TLS 1.3 (TLS_AES_256_GCM_SHA384 only, client
/// certificates from the cluster CA, rotated-out ones refused through a CRL) and forwards to the member's port on
/// 127.0.0.1, and that listens on <c>127.0.0.1:</c><see cref="PeerPortBase"/>+slot for each peer, encrypting to the peer's
/// sidecar by its alias. So the plaintext stays on each container's own loopback and only TLS crosses the bridge.
/// Certificates, key, CRL and configuration reach the sidecar through the engine's archive API; a rotation writes the
/// new files and reloads nginx (in-flight connections finish on the old workers).
/// </summary>
internal sealed class EncDockerSidecars : IDisposable
{
    /// <summary>The member's TLS port (the sidecar's listener), the only port the member container publishes.</summary>
    public const int TlsPort = 8443;

    /// <summary>The first of the local ports (one per peer slot) the sidecar encrypts to the peers from.</summary>
    public const int PeerPortBase = 15000;

    /// <summary>The label holding a member's slot.</summary>
    public const string SlotLabel = WorkloadLabels.Prefix + "enc-slot";

    private const string UpstreamPortLabel = WorkloadLabels.Prefix + "enc-upstream-port";
    private const string ClusterSizeLabel = WorkloadLabels.Prefix + "enc-cluster-size";
    private const string ConfigDirectory = "/etc/bpi-enc";
    private const string ConfigFile = ConfigDirectory + "/nginx.conf";
    private const string NginxBinary = "/usr/sbin/nginx";
    private const int ProxyUid = 65534;

    private readonly DockerWorkloadRuntime _docker;
    private readonly EncClusterManager _manager;
    private readonly ConcurrentDictionary<string, (string DeploymentId, int Slot)> _slots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string DeploymentId, string ComponentId, int Revision), int> _upstreamPorts = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ITimer> _graceTimers = new(StringComparer.Ordinal);

    public EncDockerSidecars(DockerWorkloadRuntime docker, EncClusterManager manager)
    {
        _docker = docker;
        _manager = manager;
        docker.ContainerExtras = Extras;
        manager.Rotated = OnRotatedAsync;
        manager.Rotating = (identity, nextSerial, cancellationToken) => new ValueTask(PushAsync(identity, [AcceptedSerials(identity, nextSerial)], cancellationToken));
    }

    /// <summary>What a spec needs on Docker: a TCP port per component, clear of the ports the sidecar takes.</summary>
    public static IEnumerable<string> Check(DeploymentSpec spec)
    {
        var size = Math.Max(spec.EncCluster?.ClusterSize ?? 1, 1);
        foreach (var component in spec.Components)
        {
            if (!component.Ports.Any(p => p.Protocol == PortProtocol.Tcp))
            {
                yield return $"components[{component.Id}].ports: EncCluster on Docker puts a TLS proxy in front of the member's first TCP port, and the component has none; add one.";
            }

            foreach (var port in component.Ports.Where(p => p.ContainerPort == TlsPort || (p.ContainerPort >= PeerPortBase && p.ContainerPort < PeerPortBase + size)))
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"components[{component.Id}].ports: {port.ContainerPort} is taken by the EncCluster sidecar on Docker ({TlsPort} for TLS, {PeerPortBase}–{PeerPortBase + size - 1} for the peers); move the service to another port.");
            }
        }
    }

    /// <summary>The address a member reaches the peer in <paramref name="slot"/> at (its sidecar's local listener).</summary>
    public static ServiceEndpoint PeerAddress(int slot) => new("127.0.0.1", PeerPortBase + slot);

    /// <summary>The stable DNS name of a slot's member on the deployment network.</summary>
    public static string Alias(string componentId, int revision, int slot)
        => string.Create(CultureInfo.InvariantCulture, $"enc-{DockerNaming.Sanitize(componentId)}-r{revision}-{slot}");

    /// <summary>The revision the Docker runtime runs: only the TLS port published, and the peers' local addresses in <c>BPI_ENC_PEERS</c>.</summary>
    public WorkloadRevision MemberRevision(WorkloadRevision revision, EncClusterSpec spec)
    {
        var component = revision.Component;
        var upstream = component.Ports.First(p => p.Protocol == PortProtocol.Tcp).ContainerPort;
        _upstreamPorts[(revision.DeploymentId, component.Id, revision.Revision)] = upstream;
        var size = Math.Max(spec.ClusterSize, 1);
        var environment = new Dictionary<string, string>(component.Environment, StringComparer.Ordinal)
        {
            [EncClusterWorkloadRuntime.PeersVariable] = string.Join(',', Enumerable.Range(0, size).Select(s => PeerAddress(s).ToString())),
            [EncClusterWorkloadRuntime.ClusterSizeVariable] = spec.ClusterSize.ToString(CultureInfo.InvariantCulture),
        };
        return revision with
        {
            Component = component with
            {
                Environment = environment,
                Ports = [new PortSpec { Name = EncClusterWorkloadRuntime.TlsEndpointName, ContainerPort = TlsPort }],
            },
        };
    }

    /// <summary>The slot of a member container, once <see cref="ReconcileAsync"/> has seen it.</summary>
    public int? SlotOf(string instanceId) => _slots.TryGetValue(instanceId, out var entry) ? entry.Slot : null;

    /// <summary>Gives each new member the lowest slot no existing member of the revision holds: its label and its alias.</summary>
    private Dictionary<string, DockerContainerExtras> Extras(WorkloadRevision revision, IReadOnlyList<ContainerListResponse> existing, IReadOnlyList<string> newNames)
    {
        if (revision.EncCluster is not { } spec || !_upstreamPorts.TryGetValue((revision.DeploymentId, revision.Component.Id, revision.Revision), out var upstream))
        {
            return new Dictionary<string, DockerContainerExtras>();
        }

        var taken = existing.Select(c => int.TryParse(c.Labels.Label(SlotLabel), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1).ToHashSet();
        var extras = new Dictionary<string, DockerContainerExtras>(StringComparer.Ordinal);
        var slot = 0;
        foreach (var name in newNames)
        {
            while (taken.Contains(slot))
            {
                slot++;
            }

            taken.Add(slot);
            extras[name] = new DockerContainerExtras(
                [Alias(revision.Component.Id, revision.Revision, slot)],
                new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    [SlotLabel] = slot.ToString(CultureInfo.InvariantCulture),
                    [UpstreamPortLabel] = upstream.ToString(CultureInfo.InvariantCulture),
                    [ClusterSizeLabel] = Math.Max(spec.ClusterSize, 1).ToString(CultureInfo.InvariantCulture),
                });
        }

        return extras;
    }

    /// <summary>
    /// Starts a sidecar for every running member of the deployment that has none, removes sidecars whose member is gone
    /// or stopped (and ones that stopped themselves, to be made again), and records the members' slots.
    /// </summary>
    public async Task ReconcileAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var gate = _gates.GetOrAdd(deploymentId, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var all = await _docker.Client.ListContainersAsync(new Dictionary<string, string?>(StringComparer.Ordinal) { [WorkloadLabels.Deployment] = deploymentId }, all: true, cancellationToken).ConfigureAwait(false);
            var members = all.Where(c => c.Labels.Label(SlotLabel) is not null && c.Labels.Label(DockerSidecars.SidecarOfLabel) is null).ToList();
            var sidecars = all.Where(c => c.Labels.Label(DockerSidecars.SidecarOfLabel) is not null).ToList();
            foreach (var member in members)
            {
                _slots[NameOf(member)] = (deploymentId, int.Parse(member.Labels.Label(SlotLabel)!, CultureInfo.InvariantCulture));
            }

            var running = members.Where(m => m.State == "running").ToDictionary(NameOf, StringComparer.Ordinal);
            var serving = new HashSet<string>(StringComparer.Ordinal);
            foreach (var sidecar in sidecars)
            {
                var of = sidecar.Labels.Label(DockerSidecars.SidecarOfLabel)!;
                if (running.ContainsKey(of) && sidecar.State == "running")
                {
                    serving.Add(of);
                    continue;
                }

                await RemoveAsync(sidecar.ID, cancellationToken).ConfigureAwait(false);
            }

            foreach (var name in _slots.Where(p => p.Value.DeploymentId == deploymentId && members.All(m => NameOf(m) != p.Key)).Select(p => p.Key).ToList())
            {
                _slots.TryRemove(name, out _);
            }

            var identity = _manager.Find(deploymentId);
            var missing = running.Values.Where(m => !serving.Contains(NameOf(m))).ToList();
            if (identity is null || missing.Count == 0)
            {
                return;
            }

            await _docker.EnsureImageAsync(_manager.Options.DockerProxyImage, cancellationToken).ConfigureAwait(false);
            foreach (var member in missing)
            {
                await StartAsync(member, identity, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Removes the sidecar of a member container that was just removed.</summary>
    public async Task RemoveSidecarOfAsync(string memberName, CancellationToken cancellationToken)
    {
        _slots.TryRemove(memberName, out _);
        await RemoveAsync(DockerSidecars.NameFor(memberName), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Forgets a destroyed deployment (its containers, sidecars included, go with the runtime's removal).</summary>
    public void Forget(string deploymentId)
    {
        foreach (var name in _slots.Where(p => p.Value.DeploymentId == deploymentId).Select(p => p.Key).ToList())
        {
            _slots.TryRemove(name, out _);
        }

        foreach (var key in _upstreamPorts.Keys.Where(k => k.DeploymentId == deploymentId).ToList())
        {
            _upstreamPorts.TryRemove(key, out _);
        }

        if (_graceTimers.TryRemove(deploymentId, out var timer))
        {
            timer.Dispose();
        }
    }

    private static string NameOf(ContainerListResponse container) => (container.Names?.FirstOrDefault() ?? container.ID).TrimStart('/');

    private async Task RemoveAsync(string container, CancellationToken cancellationToken)
    {
        try
        {
            await _docker.Client.RemoveContainerAsync(container, force: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (DockerEngineException ex) when (ex.Kind is OrchestrationErrorKind.NotFound or OrchestrationErrorKind.Conflict)
        {
            // Already gone, or being removed with its member.
        }
    }

    private async Task StartAsync(ContainerListResponse member, ClusterIdentity identity, CancellationToken cancellationToken)
    {
        var memberName = NameOf(member);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in new[] { WorkloadLabels.Owner, WorkloadLabels.Deployment, WorkloadLabels.DeploymentName, WorkloadLabels.App, WorkloadLabels.Environment })
        {
            if (member.Labels.Label(key) is { } value)
            {
                labels[key] = value;
            }
        }

        labels[DockerSidecars.SidecarOfLabel] = memberName;
        string[] command = [NginxBinary, "-e", "stderr", "-c", ConfigFile, "-g", "daemon off;"];
        var name = DockerSidecars.NameFor(memberName);
        string id;
        try
        {
            id = await DockerSidecars.CreateAsync(_docker.Client, member.ID, name, _manager.Options.DockerProxyImage, command, ProxyUid.ToString(CultureInfo.InvariantCulture) + ":" + ProxyUid.ToString(CultureInfo.InvariantCulture), labels, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerEngineException ex) when (ex.Kind == OrchestrationErrorKind.Conflict)
        {
            // A stopped sidecar of the same member still holds the name: remove it and make it again.
            await RemoveAsync(name, cancellationToken).ConfigureAwait(false);
            id = await DockerSidecars.CreateAsync(_docker.Client, member.ID, name, _manager.Options.DockerProxyImage, command, ProxyUid.ToString(CultureInfo.InvariantCulture) + ":" + ProxyUid.ToString(CultureInfo.InvariantCulture), labels, cancellationToken).ConfigureAwait(false);
        }

        var config = RenderConfig(member, identity);
        await DockerSidecars.WriteFilesAsync(_docker.Client, id, ConfigDirectory, [.. Credentials(identity), new DockerContainerFile("nginx.conf", Encoding.UTF8.GetBytes(config), (UnixFileMode)0b100_000_000)], ProxyUid, cancellationToken).ConfigureAwait(false);
        await _docker.Client.StartContainerAsync(id, cancellationToken).ConfigureAwait(false);
        Log.EncSidecarStarted(_manager.Logger, identity.DeploymentId, memberName, name);
    }

    /// <summary>
    /// The CA, the current certificate (with the CA, as the chain) and key, the CRL of the rotated-out certificates, and
    /// the serials this cluster accepts (current, and previous within its grace period): the CA alone would let in any
    /// cluster's certificate.
    /// </summary>
    private List<DockerContainerFile> Credentials(ClusterIdentity identity)
    {
        var authority = _manager.Authority;
        var current = identity.Current.Certificate;
        string key;
        using (var ecdsa = current.GetECDsaPrivateKey()!)
        {
            key = ecdsa.ExportPkcs8PrivateKeyPem();
        }

        var now = _manager.Time.GetUtcNow();
        var crl = authority.CreateRevocationList(identity.RevokedSerials(), now, now + identity.Spec.KeyRotationInterval + identity.Spec.GracePeriod + TimeSpan.FromDays(1));
        const UnixFileMode readable = (UnixFileMode)0b100_000_000;
        return
        [
            AcceptedSerials(identity, nextSerial: null),
            new("ca.pem", Encoding.ASCII.GetBytes(authority.Certificate.ExportCertificatePem() + "\n"), readable),
            new("cert.pem", Encoding.ASCII.GetBytes(current.ExportCertificatePem() + "\n" + authority.Certificate.ExportCertificatePem() + "\n"), readable),
            new("key.pem", Encoding.ASCII.GetBytes(key + "\n"), readable),
            new("crl.pem", Encoding.ASCII.GetBytes(crl), readable),
        ];
    }

    /// <summary>The serials a sidecar lets in (<c>serials.map</c>): the current one, the previous one within its grace period, and the next one while a rotation is under way.</summary>
    private static DockerContainerFile AcceptedSerials(ClusterIdentity identity, string? nextSerial)
    {
        var accepted = new StringBuilder();
        foreach (var serial in new[] { identity.Current.Certificate.SerialNumber, identity.Previous?.Serial, nextSerial }.OfType<string>())
        {
            accepted.Append(CultureInfo.InvariantCulture, $"{serial} 1;\n");
        }

        return new DockerContainerFile("serials.map", Encoding.ASCII.GetBytes(accepted.ToString()), (UnixFileMode)0b100_000_000);
    }

    /// <summary>The sidecar's nginx configuration (stream only).</summary>
    private string RenderConfig(ContainerListResponse member, ClusterIdentity identity)
    {
        var labels = member.Labels;
        var slot = int.Parse(labels.Label(SlotLabel)!, CultureInfo.InvariantCulture);
        var size = int.Parse(labels.Label(ClusterSizeLabel) ?? "1", CultureInfo.InvariantCulture);
        var upstream = int.Parse(labels.Label(UpstreamPortLabel)!, CultureInfo.InvariantCulture);
        var component = labels.Label(WorkloadLabels.Component)!;
        var revision = int.Parse(labels.Label(WorkloadLabels.Revision)!, CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# EncCluster sidecar of member {slot} of {component} r{revision} ({identity.DeploymentId}); written by Bpi.Orchestration.\n");
        foreach (var module in _manager.Options.DockerProxyModules)
        {
            text.Append(CultureInfo.InvariantCulture, $"load_module {module};\n");
        }

        text.Append(CultureInfo.InvariantCulture, $$"""
            worker_processes 1;
            pid /tmp/bpi-enc-nginx.pid;
            error_log stderr warn;
            events { worker_connections 1024; }
            stream {
                # Docker's embedded DNS: a peer's alias follows the member that holds its slot.
                resolver 127.0.0.11 valid=2s ipv6=off;
                resolver_timeout 2s;
                ssl_protocols TLSv1.3;
                ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384;
                ssl_certificate {{ConfigDirectory}}/cert.pem;
                ssl_certificate_key {{ConfigDirectory}}/key.pem;
                ssl_verify_client on;
                ssl_client_certificate {{ConfigDirectory}}/ca.pem;
                ssl_verify_depth 1;
                ssl_crl {{ConfigDirectory}}/crl.pem;
                ssl_session_tickets off;
                ssl_handshake_timeout {{(int)Math.Ceiling(_manager.Options.HandshakeTimeout.TotalSeconds)}}s;

                # Only this cluster's certificates: another cluster's (same CA) gets no upstream, so its connection is closed.
                map $ssl_client_serial $bpi_enc_accepted {
                    include {{ConfigDirectory}}/serials.map;
                    default 0;
                }

                map $bpi_enc_accepted $bpi_enc_member {
                    1 127.0.0.1:{{upstream}};
                    default "";
                }

                server {
                    listen {{TlsPort}} ssl;
                    proxy_connect_timeout {{(int)Math.Ceiling(_manager.Options.ConnectTimeout.TotalSeconds)}}s;
                    proxy_pass $bpi_enc_member;
                }

                map $server_port $bpi_enc_peer {

            """);
        for (var peer = 0; peer < size; peer++)
        {
            text.Append(CultureInfo.InvariantCulture, $"        {PeerPortBase + peer} {Alias(component, revision, peer)}:{TlsPort};\n");
        }

        text.Append("    }\n\n    server {\n");
        for (var peer = 0; peer < size; peer++)
        {
            text.Append(CultureInfo.InvariantCulture, $"        listen 127.0.0.1:{PeerPortBase + peer};\n");
        }

        text.Append(CultureInfo.InvariantCulture, $$"""
                    proxy_connect_timeout {{(int)Math.Ceiling(_manager.Options.ConnectTimeout.TotalSeconds)}}s;
                    proxy_pass $bpi_enc_peer;
                    proxy_ssl on;
                    proxy_ssl_protocols TLSv1.3;
                    proxy_ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384;
                    proxy_ssl_certificate {{ConfigDirectory}}/cert.pem;
                    proxy_ssl_certificate_key {{ConfigDirectory}}/key.pem;
                    proxy_ssl_trusted_certificate {{ConfigDirectory}}/ca.pem;
                    proxy_ssl_verify on;
                    proxy_ssl_verify_depth 1;
                    proxy_ssl_name {{identity.HostName}};
                    proxy_ssl_session_reuse off;
                }
            }

            """);
        return text.ToString();
    }

    /// <summary>After a rotation: the new certificate to every sidecar now, and the CRL that refuses the old one when its grace period ends.</summary>
    private async ValueTask OnRotatedAsync(ClusterIdentity identity, DateTimeOffset graceUntil, CancellationToken cancellationToken)
    {
        await PushAsync(identity, cancellationToken).ConfigureAwait(false);
        var due = graceUntil - _manager.Time.GetUtcNow();
        var timer = _manager.Time.CreateTimer(
            static state =>
            {
                var (self, id) = ((EncDockerSidecars, ClusterIdentity))state!;
                _ = self.PushAfterGraceAsync(id);
            },
            (this, identity),
            due > TimeSpan.Zero ? due : TimeSpan.Zero,
            Timeout.InfiniteTimeSpan);
        if (_graceTimers.TryGetValue(identity.DeploymentId, out var old))
        {
            old.Dispose();
        }

        _graceTimers[identity.DeploymentId] = timer;
    }

    private async Task PushAfterGraceAsync(ClusterIdentity identity)
    {
        try
        {
            await PushAsync(identity, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.EncSidecarUpdateFailed(_manager.Logger, ex, identity.DeploymentId, "(all)");
        }
    }

    /// <summary>Writes the current certificate, key and CRL into every running sidecar of the deployment and reloads its nginx.</summary>
    private Task PushAsync(ClusterIdentity identity, CancellationToken cancellationToken) => PushAsync(identity, Credentials(identity), cancellationToken);

    /// <summary>Writes <paramref name="files"/> into every running sidecar of the deployment and reloads its nginx.</summary>
    private async Task PushAsync(ClusterIdentity identity, IReadOnlyList<DockerContainerFile> files, CancellationToken cancellationToken)
    {
        var sidecars = await _docker.Client.ListContainersAsync(
            new Dictionary<string, string?>(StringComparer.Ordinal) { [WorkloadLabels.Deployment] = identity.DeploymentId, [DockerSidecars.SidecarOfLabel] = null },
            all: false,
            cancellationToken).ConfigureAwait(false);
        await Parallel.ForEachAsync(sidecars, cancellationToken, async (sidecar, token) =>
        {
            var name = NameOf(sidecar);
            try
            {
                await DockerSidecars.WriteFilesAsync(_docker.Client, sidecar.ID, ConfigDirectory, files, ProxyUid, token).ConfigureAwait(false);
                var reload = await _docker.Client.ExecAsync(sidecar.ID, [NginxBinary, "-e", "stderr", "-c", ConfigFile, "-s", "reload"], cancellationToken: token).ConfigureAwait(false);
                if (reload.ExitCode != 0)
                {
                    throw new OrchestrationException(OrchestrationErrorKind.DeploymentFailed, string.Create(CultureInfo.InvariantCulture, $"nginx -s reload in {name} exited with {reload.ExitCode}: {reload.Output.Trim()}"));
                }
            }
            catch (Exception ex) when (ex is DockerEngineException or OrchestrationException)
            {
                Log.EncSidecarUpdateFailed(_manager.Logger, ex, identity.DeploymentId, name);
            }
        }).ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (var timer in _graceTimers.Values)
        {
            timer.Dispose();
        }

        _graceTimers.Clear();
    }
}
