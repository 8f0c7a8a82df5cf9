using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Components;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.EncCluster;

/// <summary>
/// The EncCluster component manager: keeps the certificate authority, one identity per EncCluster deployment with its
/// rotation timer (on <see cref="TimeProvider"/>), audits every rotation, and tells the orchestrator which specs it
/// cannot serve. The runtime decorator (<see cref="EncClusterWorkloadRuntime"/>) puts each member behind its TLS proxy.
/// </summary>
internal sealed class EncClusterManager : IEncClusterManager, IComponentManager, IAsyncDisposable
{
    /// <summary>The audit action of a certificate rotation.</summary>
    public const string RotationAuditAction = "enccluster.rotation";

    private readonly ConcurrentDictionary<string, Entry> _identities = new(StringComparer.Ordinal);
    private readonly ClusterCertificateAuthority _authority;
    private readonly IAuditSink? _audit;
    private readonly Func<string?> _runtimeName;

    public EncClusterManager(EncClusterOptions options, TimeProvider? time, IAuditSink? audit, ISecretSealer? sealer, Func<string?> runtimeName, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Time = time ?? TimeProvider.System;
        Logger = (ILogger?)loggerFactory?.CreateLogger("Bpi.Orchestration.EncCluster") ?? NullLogger.Instance;
        _audit = audit;
        _runtimeName = runtimeName;
        if (options.AuthorityFile is { } file)
        {
            if (sealer is null)
            {
                throw new OrchestrationException(
                    OrchestrationErrorKind.InvalidConfiguration,
                    $"EncClusterOptions.AuthorityFile is set ('{file}') but no ISecretSealer is registered to seal the CA key at rest; add .AddSecretProtection(...) from Bpi.Orchestration.Security, or leave AuthorityFile null to keep the CA in memory.");
            }

            var (authority, created) = ClusterCertificateAuthority.LoadOrCreate(file, sealer, Time.GetUtcNow(), options.AuthorityLifetime);
            _authority = authority;
            Log.EncAuthorityReady(Logger, authority.Certificate.Subject, authority.Certificate.Thumbprint, created ? $"made and sealed into {file}" : $"loaded from {file}");
        }
        else
        {
            _authority = ClusterCertificateAuthority.Create(Time.GetUtcNow(), options.AuthorityLifetime);
            Log.EncAuthorityReady(Logger, _authority.Certificate.Subject, _authority.Certificate.Thumbprint, "made in memory (not kept across restarts)");
        }
    }

    public EncClusterOptions Options { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public DeploymentType Type => DeploymentType.EncCluster;

    public X509Certificate2 AuthorityCertificate => _authority.Certificate;

    internal ClusterCertificateAuthority Authority => _authority;

    /// <summary>The members, reported by the runtime decorator that owns them.</summary>
    internal Func<string, IReadOnlyList<EncClusterMember>> Members { get; set; } = _ => [];

    /// <summary>Called after each rotation, before it is audited, with the end of the previous certificate's grace period: the runtime decorator schedules what proxies outside this process (Docker sidecars) must do then (refuse the old certificate).</summary>
    internal Func<ClusterIdentity, DateTimeOffset, CancellationToken, ValueTask>? Rotated { get; set; }

    /// <summary>
    /// Called with the next certificate (<see cref="ClusterIdentity.Pending"/>) before it becomes current: proxies outside
    /// this process (Docker sidecars) accept it and then present it, each step confirmed, before the orchestrator does.
    /// When it throws, the rotation is abandoned: the next certificate is revoked and the current one stays in use.
    /// </summary>
    internal Func<ClusterIdentity, ClusterIdentity.Credential, CancellationToken, ValueTask>? Rotating { get; set; }

    public IReadOnlyList<string> Check(DeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var problems = new List<string>();
        if (!EncTls.CanRestrictCipherSuites)
        {
            problems.Add("type: EncCluster restricts TLS to TLS_AES_256_GCM_SHA384, which .NET can enforce only on Linux and macOS; run the orchestrator there or choose another type.");
        }

        var runtime = _runtimeName();
        if (runtime is not ("process" or "in-memory" or "docker"))
        {
            problems.Add(runtime is null
                ? "type: EncCluster needs a workload runtime; add .AddProcessRuntime() or .AddDocker() before .AddEncCluster()."
                : $"type: EncCluster runs on the process and Docker runtimes, and the registered runtime is '{runtime}': Kubernetes would need its own mesh (per-pod proxies and certificates as Secrets), which can follow later; use .AddProcessRuntime() or .AddDocker(), or choose another type.");
        }

        if (runtime == "docker")
        {
            problems.AddRange(EncDockerSidecars.Check(spec));
        }

        return problems;
    }

    /// <summary>The identity of a deployment, made (with its rotation timer) on first use.</summary>
    internal ClusterIdentity GetOrCreate(string deploymentId, string deploymentName, EncClusterSpec spec)
    {
        var entry = _identities.GetOrAdd(deploymentId, id => new Entry(this, new ClusterIdentity(id, deploymentName, spec, _authority, Time, Options.ExtraHostNames)));
        entry.Update(spec);
        return entry.Identity;
    }

    internal ClusterIdentity? Find(string deploymentId) => _identities.TryGetValue(deploymentId, out var entry) ? entry.Identity : null;

    internal void Remove(string deploymentId)
    {
        if (_identities.TryRemove(deploymentId, out var entry))
        {
            entry.Dispose();
        }
    }

    public EncClusterCertificate? GetCertificate(string deploymentId)
        => Find(deploymentId) is { } identity ? Describe(identity) : null;

    public IReadOnlyList<EncClusterMember> GetMembers(string deploymentId) => Members(deploymentId);

    public ValueTask<EncClusterCertificate> RotateAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var identity = Find(deploymentId)
            ?? throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"Deployment '{deploymentId}' has no EncCluster here (its type is not EncCluster, it is not deployed yet, or it was destroyed); deploy it with type EncCluster first.");
        return RotateAsync(identity, "on-demand", cancellationToken);
    }

    private async ValueTask<EncClusterCertificate> RotateAsync(ClusterIdentity identity, string reason, CancellationToken cancellationToken)
    {
        var next = identity.IssueNext();
        if (Rotating is { } rotating)
        {
            try
            {
                await rotating(identity, next, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                identity.Abandon(next);
                await AuditFailureAsync(identity, reason, next, ex).ConfigureAwait(false);
                throw;
            }
        }

        var (current, replaced, graceUntil) = identity.Rotate(next);
        if (Rotated is { } rotated)
        {
            await rotated(identity, graceUntil, cancellationToken).ConfigureAwait(false);
        }

        var notAfter = new DateTimeOffset(current.Certificate.NotAfter.ToUniversalTime());
        Log.EncCertificateRotated(Logger, identity.DeploymentId, current.Certificate.SerialNumber, reason, notAfter, replaced.Certificate.SerialNumber, graceUntil);
        if (_audit is not null)
        {
            await _audit.AppendAsync(
                new AuditEvent(Time.GetUtcNow(), "system", RotationAuditAction, identity.DeploymentId, "succeeded", new Dictionary<string, string?>
                {
                    ["reason"] = reason,
                    ["serial"] = current.Certificate.SerialNumber,
                    ["notAfter"] = notAfter.ToString("O", CultureInfo.InvariantCulture),
                    ["previousSerial"] = replaced.Certificate.SerialNumber,
                    ["previousAcceptedUntil"] = graceUntil.ToString("O", CultureInfo.InvariantCulture),
                    ["authority"] = _authority.Certificate.Thumbprint,
                }),
                cancellationToken).ConfigureAwait(false);
        }

        return Describe(identity);
    }

    /// <summary>Appends a failed rotation to the audit trail (not cancelled with the rotation: the failure must be on record).</summary>
    private async ValueTask AuditFailureAsync(ClusterIdentity identity, string reason, ClusterIdentity.Credential abandoned, Exception failure)
    {
        if (_audit is null)
        {
            return;
        }

        await _audit.AppendAsync(
            new AuditEvent(Time.GetUtcNow(), "system", RotationAuditAction, identity.DeploymentId, "failed", new Dictionary<string, string?>
            {
                ["reason"] = reason,
                ["abandonedSerial"] = abandoned.Certificate.SerialNumber,
                ["serial"] = identity.Current.Certificate.SerialNumber,
                ["error"] = failure.Message,
                ["authority"] = _authority.Certificate.Thumbprint,
            }),
            CancellationToken.None).ConfigureAwait(false);
    }

    private static EncClusterCertificate Describe(ClusterIdentity identity)
    {
        var current = identity.Current.Certificate;
        var previous = identity.Previous;
        return new EncClusterCertificate(identity.DeploymentId, current.SerialNumber, new DateTimeOffset(current.NotBefore.ToUniversalTime()), new DateTimeOffset(current.NotAfter.ToUniversalTime()), previous?.Serial, previous?.Until);
    }

    public ValueTask DisposeAsync()
    {
        foreach (var id in _identities.Keys)
        {
            Remove(id);
        }

        _authority.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>An identity with its rotation timer.</summary>
    private sealed class Entry : IDisposable
    {
        private readonly EncClusterManager _manager;
        private readonly ITimer _timer;
        private TimeSpan _interval;

        public Entry(EncClusterManager manager, ClusterIdentity identity)
        {
            _manager = manager;
            Identity = identity;
            _interval = identity.Spec.KeyRotationInterval;
            _timer = manager.Time.CreateTimer(static state => ((Entry)state!).OnTimer(), this, _interval, _interval);
        }

        public ClusterIdentity Identity { get; }

        public void Update(EncClusterSpec spec)
        {
            Identity.Update(spec);
            if (spec.KeyRotationInterval != _interval)
            {
                _interval = spec.KeyRotationInterval;
                _timer.Change(_interval, _interval);
            }
        }

        private void OnTimer() => _ = RotateScheduledAsync();

        private async Task RotateScheduledAsync()
        {
            try
            {
                await _manager.RotateAsync(Identity, "scheduled", CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.EncRotationFailed(_manager.Logger, ex, Identity.DeploymentId);
            }
        }

        public void Dispose()
        {
            _timer.Dispose();
            Identity.Dispose();
        }
    }
}
