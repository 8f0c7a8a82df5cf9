using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
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
/// new files and reloads nginx (in-flight connections finish on the old workers), and confirms each reload before it
/// moves on: <c>nginx -s reload</c> returns before nginx applies it, so the orchestrator connects to the sidecar's
/// published TLS port until the new configuration answers (a check route that only an accepted client certificate
/// reaches returns a token written with the files) with the expected certificate, and the engine lists no worker of the
/// previous configuration still taking connections. A member restarted in place (same container, new network
/// namespace) gets a new sidecar as soon as the engine reports it died and it runs again.
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
    private const string MemberStartedLabel = WorkloadLabels.Prefix + "enc-member-started";
    private const string CheckSocket = "/tmp/bpi-enc-check.sock";
    private const string CheckAnswer = "bpi-enc-check ";
    private const string AcceptingWorker = "nginx: worker process";
    private const int ProxyUid = 65534;

    /// <summary>The first wait between two checks of a reload; doubled after each until <see cref="LastRetryDelay"/>.</summary>
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan LastRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>How long a member that died is watched for running again (restarted in place) before the healer is left to replace it.</summary>
    private static readonly TimeSpan RestartWatch = TimeSpan.FromMinutes(2);

    private readonly DockerWorkloadRuntime _docker;
    private readonly EncClusterManager _manager;
    private readonly ConcurrentDictionary<string, (string DeploymentId, int Slot)> _slots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string DeploymentId, string ComponentId, int Revision), int> _upstreamPorts = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ITimer> _graceTimers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _reviving = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _subscriptionGate = new();
    private IDisposable? _subscription;

    public EncDockerSidecars(DockerWorkloadRuntime docker, EncClusterManager manager)
    {
        _docker = docker;
        _manager = manager;
        docker.ContainerExtras = Extras;
        manager.Rotating = RotateSidecarsAsync;
        manager.Rotated = OnRotatedAsync;
    }

    /// <summary>Called after a member restarted in place got its sidecar back (its published port may have changed): the runtime decorator re-reads the members.</summary>
    public Func<string, CancellationToken, ValueTask>? Revived { get; set; }

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
        WatchMembers();
        var gate = GateOf(deploymentId);
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
                if (running.TryGetValue(of, out var member) && sidecar.State == "running" && !await StaleAsync(sidecar, member, cancellationToken).ConfigureAwait(false))
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

    /// <summary>
    /// Whether a running sidecar belongs to an earlier run of its member: a member restarted in place (the engine's restart
    /// policy, <c>docker restart</c>) keeps its container but gets a new network namespace, and the sidecar stays in the old
    /// one, where nothing reaches it. The sidecar carries the member's start time from when it was made.
    /// </summary>
    private async Task<bool> StaleAsync(ContainerListResponse sidecar, ContainerListResponse member, CancellationToken cancellationToken)
    {
        try
        {
            var inspect = await _docker.Client.InspectContainerAsync(member.ID, cancellationToken).ConfigureAwait(false);
            return sidecar.Labels.Label(MemberStartedLabel) != StartedOf(inspect);
        }
        catch (DockerEngineException ex) when (ex.Kind == OrchestrationErrorKind.NotFound)
        {
            return true;
        }
    }

    private static string StartedOf(ContainerInspectResponse inspect) => inspect.State?.StartedAt ?? "";

    /// <summary>Follows the runtime's events (once): a member that died may be restarted in place and then needs a new sidecar.</summary>
    private void WatchMembers()
    {
        lock (_subscriptionGate)
        {
            if (_subscription is null && !_stopping.IsCancellationRequested)
            {
                _subscription = _docker.Subscribe(OnWorkloadEvent);
            }
        }
    }

    private void OnWorkloadEvent(WorkloadEvent change)
    {
        if (change.Kind != WorkloadEventKind.Exited)
        {
            return;
        }

        // A member died (it may come back in place), or a member's sidecar did (it is made again).
        var member = change.InstanceId.EndsWith(DockerSidecars.NameFor(""), StringComparison.Ordinal) ? change.InstanceId[..^DockerSidecars.NameFor("").Length] : change.InstanceId;
        if (_slots.TryGetValue(member, out var entry) && entry.DeploymentId == change.DeploymentId && _reviving.TryAdd(member, 0))
        {
            _ = ReviveAsync(change.DeploymentId, member, removeSidecar: member == change.InstanceId);
        }
    }

    /// <summary>
    /// After a member (or its sidecar) died: removes the member's sidecar when the member died (its network namespace went
    /// with it), then waits on the clock, with back-off, for the member to run again and makes its sidecar; gives up when the
    /// member is removed (the healer replaces it) or after <see cref="RestartWatch"/>.
    /// </summary>
    private async Task ReviveAsync(string deploymentId, string member, bool removeSidecar)
    {
        var cancellationToken = _stopping.Token;
        try
        {
            if (removeSidecar)
            {
                await RemoveAsync(DockerSidecars.NameFor(member), cancellationToken).ConfigureAwait(false);
            }

            var time = _manager.Time;
            var giveUp = time.GetUtcNow() + RestartWatch;
            var delay = TimeSpan.FromMilliseconds(250);
            while (_slots.ContainsKey(member))
            {
                ContainerInspectResponse inspect;
                try
                {
                    inspect = await _docker.Client.InspectContainerAsync(member, cancellationToken).ConfigureAwait(false);
                }
                catch (DockerEngineException ex) when (ex.Kind == OrchestrationErrorKind.NotFound)
                {
                    return;
                }

                if (inspect.State?.Running == true)
                {
                    await ReconcileAsync(deploymentId, cancellationToken).ConfigureAwait(false);
                    if (Revived is { } revived)
                    {
                        await revived(deploymentId, cancellationToken).ConfigureAwait(false);
                    }

                    return;
                }

                if (time.GetUtcNow() >= giveUp)
                {
                    return;
                }

                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.EncSidecarReviveFailed(_manager.Logger, ex, deploymentId, member);
        }
        finally
        {
            _reviving.TryRemove(member, out _);
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

    /// <summary>Serialises what changes a deployment's sidecars: reconciling them and each step of a rotation.</summary>
    private SemaphoreSlim GateOf(string deploymentId) => _gates.GetOrAdd(deploymentId, static _ => new SemaphoreSlim(1, 1));

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
        labels[MemberStartedLabel] = StartedOf(await _docker.Client.InspectContainerAsync(member.ID, cancellationToken).ConfigureAwait(false));
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
        await DockerSidecars.WriteFilesAsync(_docker.Client, id, ConfigDirectory, [.. Files(identity, StateOf(identity), NewToken()), new DockerContainerFile("nginx.conf", Encoding.UTF8.GetBytes(config), (UnixFileMode)0b100_000_000)], ProxyUid, cancellationToken).ConfigureAwait(false);
        await _docker.Client.StartContainerAsync(id, cancellationToken).ConfigureAwait(false);
        Log.EncSidecarStarted(_manager.Logger, identity.DeploymentId, memberName, name);
    }

    /// <summary>What a sidecar serves and lets in: the certificate it presents, the serials it accepts, the serials its CRL revokes.</summary>
    private sealed record SidecarState(ClusterIdentity.Credential Served, IReadOnlyList<string> Accepted, IReadOnlyList<string> Revoked);

    /// <summary>
    /// The identity as it stands: the current certificate served; accepted the current one, the previous one within its
    /// grace period and the next one while a rotation is under way (the CA alone would let in any cluster's certificate).
    /// </summary>
    private static SidecarState StateOf(ClusterIdentity identity)
        => new(identity.Current, [.. new[] { identity.Current.Certificate.SerialNumber, identity.Previous?.Serial, identity.Pending?.Certificate.SerialNumber }.OfType<string>()], identity.RevokedSerials());

    private static string NewToken() => Guid.NewGuid().ToString("N");

    /// <summary>The CA, the served certificate (with the CA, as the chain) and key, the CRL, the accepted serials (<c>serials.map</c>) and the check route's answer (<c>check.conf</c>).</summary>
    private List<DockerContainerFile> Files(ClusterIdentity identity, SidecarState state, string token)
    {
        var authority = _manager.Authority;
        var served = state.Served.Certificate;
        string key;
        using (var ecdsa = served.GetECDsaPrivateKey()!)
        {
            key = ecdsa.ExportPkcs8PrivateKeyPem();
        }

        var now = _manager.Time.GetUtcNow();
        var crl = authority.CreateRevocationList(state.Revoked, now, now + identity.Spec.KeyRotationInterval + identity.Spec.GracePeriod + TimeSpan.FromDays(1));
        var accepted = new StringBuilder();
        foreach (var serial in state.Accepted.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            accepted.Append(CultureInfo.InvariantCulture, $"{serial} 1;\n");
        }

        const UnixFileMode readable = (UnixFileMode)0b100_000_000;
        return
        [
            new("serials.map", Encoding.ASCII.GetBytes(accepted.ToString()), readable),
            new("check.conf", Encoding.ASCII.GetBytes($"return \"{CheckAnswer}{token}\\n\";\n"), readable),
            new("ca.pem", Encoding.ASCII.GetBytes(authority.Certificate.ExportCertificatePem() + "\n"), readable),
            new("cert.pem", Encoding.ASCII.GetBytes(served.ExportCertificatePem() + "\n" + authority.Certificate.ExportCertificatePem() + "\n"), readable),
            new("key.pem", Encoding.ASCII.GetBytes(key + "\n"), readable),
            new("crl.pem", Encoding.ASCII.GetBytes(crl), readable),
        ];
    }

    /// <summary>The name a client asks for (SNI) to reach a sidecar's check route instead of its member; the certificates' wildcard covers it.</summary>
    private static string CheckHost(ClusterIdentity identity) => "bpi-enc-check." + identity.HostName;

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

                # The orchestrator's reload check (its own server name) gets the check route, everyone else accepted the member.
                map "$bpi_enc_accepted:$ssl_server_name" $bpi_enc_member {
                    "1:{{CheckHost(identity)}}" unix:{{CheckSocket}};
                    ~^1: 127.0.0.1:{{upstream}};
                    default "";
                }

                server {
                    listen {{TlsPort}} ssl;
                    proxy_connect_timeout {{(int)Math.Ceiling(_manager.Options.ConnectTimeout.TotalSeconds)}}s;
                    proxy_pass $bpi_enc_member;
                }

                # Answers with the token written with the files: which configuration the worker that took the connection runs.
                server {
                    listen unix:{{CheckSocket}};
                    include {{ConfigDirectory}}/check.conf;
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

    /// <summary>
    /// Before the orchestrator makes <paramref name="next"/> current: every sidecar accepts it (confirmed), then every sidecar
    /// presents it, accepting the current one too (confirmed). When a sidecar does not confirm a step, every sidecar is put
    /// back on the current certificate (the next one revoked) and the rotation fails.
    /// </summary>
    private async ValueTask RotateSidecarsAsync(ClusterIdentity identity, ClusterIdentity.Credential next, CancellationToken cancellationToken)
    {
        var gate = GateOf(identity.DeploymentId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = identity.Current;
            await ApplyAsync(identity, StateOf(identity), next, "accept the next certificate " + next.Certificate.SerialNumber, cancellationToken).ConfigureAwait(false);

            // As the identity will stand once rotated: the next certificate served, the current one accepted in its grace period.
            var revoked = identity.RevokedSerials().Concat(identity.Previous is { } previous ? [previous.Serial] : []).ToList();
            var switched = new SidecarState(next, [next.Certificate.SerialNumber, current.Certificate.SerialNumber], revoked);
            await ApplyAsync(identity, switched, next, "present the next certificate " + next.Certificate.SerialNumber, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DockerEngineException or OrchestrationException or OperationCanceledException)
        {
            var back = new SidecarState(identity.Current, [.. StateOf(identity).Accepted.Where(s => s != next.Certificate.SerialNumber)], [.. identity.RevokedSerials(), next.Certificate.SerialNumber]);
            try
            {
                await ApplyAsync(identity, back, identity.Current, "go back to the current certificate " + identity.Current.Certificate.SerialNumber, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception rollback) when (rollback is DockerEngineException or OrchestrationException)
            {
                Log.EncSidecarUpdateFailed(_manager.Logger, rollback, identity.DeploymentId, "(rollback)");
            }

            throw;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>After a rotation: the CRL that refuses the old certificate when its grace period ends.</summary>
    private ValueTask OnRotatedAsync(ClusterIdentity identity, DateTimeOffset graceUntil, CancellationToken cancellationToken)
    {
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
        return ValueTask.CompletedTask;
    }

    private async Task PushAfterGraceAsync(ClusterIdentity identity)
    {
        var gate = GateOf(identity.DeploymentId);
        try
        {
            await gate.WaitAsync(_stopping.Token).ConfigureAwait(false);
            try
            {
                await ApplyAsync(identity, StateOf(identity), identity.Current, "refuse the rotated-out certificate", _stopping.Token).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.EncSidecarUpdateFailed(_manager.Logger, ex, identity.DeploymentId, "(all)");
        }
    }

    /// <summary>
    /// Writes <paramref name="state"/>'s files into every running sidecar of the deployment, reloads its nginx and waits
    /// until it confirms (<see cref="ConfirmAsync"/>), all sidecars at once.
    /// </summary>
    /// <exception cref="OrchestrationException">A sidecar could not be updated or did not confirm within <see cref="EncClusterOptions.SidecarReloadTimeout"/>; the message names each and says why.</exception>
    private async Task ApplyAsync(ClusterIdentity identity, SidecarState state, ClusterIdentity.Credential client, string step, CancellationToken cancellationToken)
    {
        var token = NewToken();
        var files = Files(identity, state, token);
        var sidecars = await _docker.Client.ListContainersAsync(
            new Dictionary<string, string?>(StringComparer.Ordinal) { [WorkloadLabels.Deployment] = identity.DeploymentId, [DockerSidecars.SidecarOfLabel] = null },
            all: false,
            cancellationToken).ConfigureAwait(false);
        var endpoints = new Dictionary<string, ServiceEndpoint>(StringComparer.Ordinal);
        foreach (var instance in await _docker.GetInstancesAsync(identity.DeploymentId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if ((instance.Endpoints.FirstOrDefault(e => e.Name == EncClusterWorkloadRuntime.TlsEndpointName) ?? instance.Endpoint) is { } endpoint)
            {
                endpoints[instance.InstanceId] = endpoint;
            }
        }

        var failures = new ConcurrentQueue<string>();
        // All at once: a sidecar waiting for its reload must not hold another's files back.
        var parallel = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Math.Max(sidecars.Count, 1) };
        await Parallel.ForEachAsync(sidecars, parallel, async (sidecar, ct) =>
        {
            var name = NameOf(sidecar);
            try
            {
                await DockerSidecars.WriteFilesAsync(_docker.Client, sidecar.ID, ConfigDirectory, files, ProxyUid, ct).ConfigureAwait(false);
                var reload = await _docker.Client.ExecAsync(sidecar.ID, [NginxBinary, "-e", "stderr", "-c", ConfigFile, "-s", "reload"], cancellationToken: ct).ConfigureAwait(false);
                if (reload.ExitCode != 0)
                {
                    failures.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{name}: nginx -s reload exited with {reload.ExitCode}: {reload.Output.Trim()}"));
                    return;
                }

                if (!endpoints.TryGetValue(sidecar.Labels.Label(DockerSidecars.SidecarOfLabel)!, out var endpoint))
                {
                    failures.Enqueue($"{name}: its member publishes no TLS port to check the reload on (is the member still running?)");
                    return;
                }

                if (await ConfirmAsync(identity, sidecar.ID, endpoint, client, state.Served.Certificate.SerialNumber, token, ct).ConfigureAwait(false) is { } problem)
                {
                    failures.Enqueue($"{name}: {problem}");
                }
            }
            catch (DockerEngineException ex)
            {
                failures.Enqueue($"{name}: {ex.Message}");
            }
        }).ConfigureAwait(false);
        if (!failures.IsEmpty)
        {
            var message = string.Create(CultureInfo.InvariantCulture, $"EncCluster {identity.DeploymentId}: {failures.Count} of {sidecars.Count} TLS sidecar(s) did not {step} within {_manager.Options.SidecarReloadTimeout.TotalSeconds:0.#} s — {string.Join("; ", failures)}. The rotation is abandoned and the sidecars keep serving certificate {identity.Current.Certificate.SerialNumber}; look at the sidecar's log (docker logs <sidecar>), fix or remove it (the next ensure makes it again), then rotate again.");
            foreach (var failure in failures)
            {
                Log.EncSidecarNotConfirmed(_manager.Logger, identity.DeploymentId, step, failure);
            }

            throw new OrchestrationException(OrchestrationErrorKind.DeploymentFailed, message);
        }
    }

    /// <summary>
    /// Checks a sidecar's reload on a <see cref="TimeProvider"/> schedule (back-off from <see cref="FirstRetryDelay"/> to
    /// <see cref="LastRetryDelay"/>) until it applies or <see cref="EncClusterOptions.SidecarReloadTimeout"/> passes;
    /// <see langword="null"/> when it applied, else what was last seen.
    /// </summary>
    private async Task<string?> ConfirmAsync(ClusterIdentity identity, string sidecarId, ServiceEndpoint endpoint, ClusterIdentity.Credential client, string served, string token, CancellationToken cancellationToken)
    {
        var time = _manager.Time;
        var deadline = time.GetUtcNow() + _manager.Options.SidecarReloadTimeout;
        var delay = FirstRetryDelay;
        while (true)
        {
            var problem = await CheckAsync(identity, sidecarId, endpoint, client, served, token, cancellationToken).ConfigureAwait(false);
            if (problem is null)
            {
                return null;
            }

            if (time.GetUtcNow() >= deadline)
            {
                return problem;
            }

            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LastRetryDelay.Ticks));
        }
    }

    /// <summary>
    /// One check of a sidecar: a mutual-TLS connection to its published port with <paramref name="client"/> and the check
    /// route's server name must present <paramref name="served"/> and answer <paramref name="token"/> (so the worker that
    /// took it runs the new configuration, which lets <paramref name="client"/> in), and the engine must list one accepting
    /// worker only (the previous configuration's worker no longer takes connections). <see langword="null"/> when all hold.
    /// </summary>
    private async Task<string?> CheckAsync(ClusterIdentity identity, string sidecarId, ServiceEndpoint endpoint, ClusterIdentity.Credential client, string served, string token, CancellationToken cancellationToken)
    {
        string? presented = null;
        string answer;
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(_manager.Options.ConnectTimeout + _manager.Options.HandshakeTimeout);
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, bounded.Token).ConfigureAwait(false);
            using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = CheckHost(identity),
                    ClientCertificateContext = client.Context,
                    EnabledSslProtocols = SslProtocols.Tls13,
                    CipherSuitesPolicy = EncTls.Policy,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    {
                        using var received = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                        presented = received?.SerialNumber;
                        return received is not null && _manager.Authority.Validates(received, _manager.Time.GetUtcNow());
                    },
                },
                bounded.Token).ConfigureAwait(false);
            var buffer = new byte[256];
            var read = 0;
            int got;
            while (read < buffer.Length && (got = await tls.ReadAsync(buffer.AsMemory(read), bounded.Token).ConfigureAwait(false)) > 0)
            {
                read += got;
            }

            answer = Encoding.ASCII.GetString(buffer, 0, read).Trim();
        }
        catch (Exception ex) when (ex is IOException or SocketException or AuthenticationException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // TLS 1.3: a refused client certificate shows as a closed connection after the handshake.
            answer = "";
            if (presented is null)
            {
                return $"no TLS answer on {endpoint} ({ex.Message})";
            }
        }

        if (presented != served)
        {
            return $"it presents certificate {presented}, not {served} (the reload has not taken effect)";
        }

        if (answer.Length == 0)
        {
            return $"it closed the connection without answering: it does not accept certificate {client.Certificate.SerialNumber} (the reload has not taken effect)";
        }

        if (answer != CheckAnswer + token)
        {
            return "it answers with an earlier configuration (the reload has not taken effect)";
        }

        try
        {
            var accepting = (await _docker.Client.ListProcessCommandsAsync(sidecarId, cancellationToken).ConfigureAwait(false)).Count(c => c.Trim() == AcceptingWorker);
            return accepting <= 1 ? null : string.Create(CultureInfo.InvariantCulture, $"{accepting} nginx workers take connections (the previous configuration's worker has not stopped yet)");
        }
        catch (DockerEngineException ex) when (ex.Kind is not (OrchestrationErrorKind.NotFound or OrchestrationErrorKind.Conflict))
        {
            // An engine that cannot list processes (no ps on its host): the new configuration answered, which has to do.
            return null;
        }
    }

    public void Dispose()
    {
        lock (_subscriptionGate)
        {
            _stopping.Cancel();
            _subscription?.Dispose();
            _subscription = null;
        }

        foreach (var timer in _graceTimers.Values)
        {
            timer.Dispose();
        }

        _graceTimers.Clear();
    }
}
