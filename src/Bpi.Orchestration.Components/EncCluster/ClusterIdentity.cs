using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Bpi.Orchestration.EncCluster;

/// <summary>
/// One EncCluster deployment's identity: its current workload certificate (what every member's TLS listener presents
/// and every connection to a member authenticates with) and the previous one, accepted until its grace period ends.
/// Connections read <see cref="Current"/> when they start, so a rotation never touches a connection in flight.
/// </summary>
internal sealed class ClusterIdentity : IDisposable
{
    private readonly ClusterCertificateAuthority _authority;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<string> _dnsNames;
    private readonly Lock _gate = new();
    private Credential _current;
    private Credential? _previous;
    private DateTimeOffset _previousAcceptedUntil;
    private Credential? _pending;
    private readonly List<Credential> _retired = [];

    public ClusterIdentity(string deploymentId, string deploymentName, EncClusterSpec spec, ClusterCertificateAuthority authority, TimeProvider time, IEnumerable<string> extraHostNames)
    {
        DeploymentId = deploymentId;
        Spec = spec;
        _authority = authority;
        _time = time;
        HostName = deploymentName + ".enc.local";
        _dnsNames = ["localhost", HostName, "*." + HostName, .. extraHostNames];
        _current = Issue();
    }

    public string DeploymentId { get; }

    public EncClusterSpec Spec { get; private set; }

    /// <summary>The DNS name the cluster's certificates carry and clients check: <c>{deployment}.enc.local</c>.</summary>
    public string HostName { get; }

    public Credential Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>
    /// The certificate a rotation under way is about to make current (from <see cref="IssueNext"/> until
    /// <see cref="Rotate(Credential)"/> or <see cref="Abandon"/>), or <see langword="null"/>. It is accepted already, so a
    /// proxy outside this process (a Docker sidecar) that switches to it before this process does is not refused.
    /// </summary>
    public Credential? Pending
    {
        get
        {
            lock (_gate)
            {
                return _pending;
            }
        }
    }

    /// <summary>The serial of the certificate accepted until its grace period ends, and until when; <see langword="null"/> when there is none.</summary>
    public (string Serial, DateTimeOffset Until)? Previous
    {
        get
        {
            lock (_gate)
            {
                return _previous is { } p && _time.GetUtcNow() < _previousAcceptedUntil ? (p.Certificate.SerialNumber, _previousAcceptedUntil) : null;
            }
        }
    }

    public void Update(EncClusterSpec spec) => Spec = spec;

    /// <summary>The serials of this cluster's certificates that are no longer accepted: every retired one, and the previous one once its grace period has ended.</summary>
    public IReadOnlyList<string> RevokedSerials()
    {
        lock (_gate)
        {
            var revoked = _retired.Select(r => r.Certificate.SerialNumber).ToList();
            if (_previous is { } p && _time.GetUtcNow() >= _previousAcceptedUntil)
            {
                revoked.Add(p.Certificate.SerialNumber);
            }

            return revoked;
        }
    }

    /// <summary>Issues a new certificate and makes it current; the one it replaces is accepted for the grace period.</summary>
    public (Credential Current, Credential Replaced, DateTimeOffset GraceUntil) Rotate() => Rotate(IssueNext());

    /// <summary>
    /// Issues the certificate a later <see cref="Rotate(Credential)"/> makes current and keeps it as <see cref="Pending"/>
    /// (accepted from now on), so proxies outside this process can be told to accept it, and to present it, first.
    /// </summary>
    public Credential IssueNext()
    {
        var next = Issue();
        lock (_gate)
        {
            if (_pending is { } abandoned)
            {
                _retired.Add(abandoned);
            }

            _pending = next;
        }

        return next;
    }

    /// <summary>Gives up <paramref name="next"/> (from <see cref="IssueNext"/>) after a failed rotation: it is no longer accepted, and revoked.</summary>
    public void Abandon(Credential next)
    {
        ArgumentNullException.ThrowIfNull(next);
        lock (_gate)
        {
            if (ReferenceEquals(_pending, next))
            {
                _pending = null;
                _retired.Add(next); // disposed with the identity: a probe may still hold it
            }
        }
    }

    /// <summary>Makes <paramref name="next"/> (from <see cref="IssueNext"/>) current; the one it replaces is accepted for the grace period.</summary>
    public (Credential Current, Credential Replaced, DateTimeOffset GraceUntil) Rotate(Credential next)
    {
        lock (_gate)
        {
            if (_previous is { } old)
            {
                _retired.Add(old); // disposed with the identity: a connection may still hold its context
            }

            if (ReferenceEquals(_pending, next))
            {
                _pending = null;
            }

            var replaced = _current;
            _previous = replaced;
            _previousAcceptedUntil = _time.GetUtcNow() + Spec.GracePeriod;
            _current = next;
            return (next, replaced, _previousAcceptedUntil);
        }
    }

    /// <summary>Whether a peer presenting <paramref name="certificate"/> is let in: it chains to the CA and is this cluster's current certificate, the pending one of a rotation under way, or its previous one within the grace period.</summary>
    public bool Accepts(X509Certificate2? certificate, out string reason)
    {
        if (certificate is null)
        {
            reason = "no client certificate";
            return false;
        }

        var now = _time.GetUtcNow();
        if (!_authority.Validates(certificate, now))
        {
            reason = $"certificate {certificate.SerialNumber} does not chain to the cluster CA or has expired";
            return false;
        }

        lock (_gate)
        {
            if (certificate.SerialNumber == _current.Certificate.SerialNumber || certificate.SerialNumber == _pending?.Certificate.SerialNumber)
            {
                reason = "";
                return true;
            }

            if (_previous is { } p && certificate.SerialNumber == p.Certificate.SerialNumber)
            {
                reason = now < _previousAcceptedUntil ? "" : $"certificate {certificate.SerialNumber} was rotated out and its grace period ended at {_previousAcceptedUntil:O}";
                return reason.Length == 0;
            }
        }

        reason = $"certificate {certificate.SerialNumber} is not this cluster's";
        return false;
    }

    private Credential Issue()
    {
        var now = _time.GetUtcNow();
        // Valid for one rotation interval plus the grace period, so the previous certificate outlives its grace.
        var certificate = _authority.Issue("enc-" + DeploymentId, _dnsNames, now.AddMinutes(-5), now + Spec.KeyRotationInterval + Spec.GracePeriod);
        return new Credential(certificate, SslStreamCertificateContext.Create(certificate, [_authority.Certificate], offline: true));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _current.Certificate.Dispose();
            _previous?.Certificate.Dispose();
            _pending?.Certificate.Dispose();
            foreach (var retired in _retired)
            {
                retired.Certificate.Dispose();
            }
        }
    }

    /// <summary>A certificate with its private key and the TLS context that presents it with the CA certificate.</summary>
    internal sealed record Credential(X509Certificate2 Certificate, SslStreamCertificateContext Context);
}
