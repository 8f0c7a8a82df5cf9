using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Security;

namespace Bpi.Orchestration.EncCluster;

/// <summary>
/// The certificate authority the orchestrator keeps for its EncClusters: an ECDSA P-256 key and a self-signed CA
/// certificate (<see cref="CertificateRequest"/>), issuing the clusters' workload certificates and validating the
/// certificates peers present. Kept in a file with its private key sealed through <see cref="ISecretSealer"/>.
/// </summary>
internal sealed class ClusterCertificateAuthority : IDisposable
{
    private const string SealContext = "bpi.orchestration/enccluster/ca-key";
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private ClusterCertificateAuthority(X509Certificate2 certificate)
    {
        Certificate = certificate;
    }

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Makes a new CA valid from <paramref name="now"/> for <paramref name="lifetime"/>.</summary>
    public static ClusterCertificateAuthority Create(DateTimeOffset now, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=Bpi.Orchestration EncCluster CA {Guid.NewGuid():N}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return new ClusterCertificateAuthority(request.CreateSelfSigned(now.AddMinutes(-5), now + lifetime));
    }

    /// <summary>Loads the CA from <paramref name="path"/>, or makes one and saves it there (the key sealed) when the file does not exist.</summary>
    public static (ClusterCertificateAuthority Authority, bool Created) LoadOrCreate(string path, ISecretSealer sealer, DateTimeOffset now, TimeSpan lifetime)
    {
        if (File.Exists(path))
        {
            return (Load(path, sealer), false);
        }

        var authority = Create(now, lifetime);
        authority.Save(path, sealer);
        return (authority, true);
    }

    private static ClusterCertificateAuthority Load(string path, ISecretSealer sealer)
    {
        try
        {
            var document = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            var certificatePem = document["certificate"]!.GetValue<string>();
            var keyPem = sealer.Unseal(document["sealedKey"]!.GetValue<string>(), SealContext);
            return new ClusterCertificateAuthority(X509Certificate2.CreateFromPem(certificatePem, keyPem));
        }
        catch (Exception ex) when (ex is JsonException or NullReferenceException or InvalidOperationException or CryptographicException or FormatException or OrchestrationException)
        {
            throw new OrchestrationException(
                OrchestrationErrorKind.InvalidConfiguration,
                $"The EncCluster certificate authority file '{path}' cannot be read ({ex.Message}); restore it from a backup, or remove it to make a new CA (every cluster then gets new certificates).",
                ex);
        }
    }

    private void Save(string path, ISecretSealer sealer)
    {
        using var key = Certificate.GetECDsaPrivateKey()!;
        var document = new JsonObject
        {
            ["format"] = "bpi-enccluster-ca/1",
            ["certificate"] = Certificate.ExportCertificatePem(),
            ["sealedKey"] = sealer.Seal(key.ExportPkcs8PrivateKeyPem(), SealContext),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, document.ToJsonString());
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Issues a workload certificate (ECDSA P-256, server and client authentication) for the given names, valid from <paramref name="notBefore"/> to <paramref name="notAfter"/>.</summary>
    public X509Certificate2 Issue(string commonName, IEnumerable<string> dnsNames, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuth, ClientAuth], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            names.AddDnsName(name);
        }

        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive serial
        var notAfterCapped = notAfter < Certificate.NotAfter ? notAfter : new DateTimeOffset(Certificate.NotAfter.ToUniversalTime());
        using var issued = request.Create(Certificate, notBefore, notAfterCapped, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// A certificate revocation list (PEM) signed by this CA that revokes <paramref name="serials"/> (hex, as
    /// <see cref="X509Certificate.GetSerialNumberString"/>), valid from five minutes before <paramref name="now"/> until
    /// <paramref name="nextUpdate"/>: what a TLS proxy that checks revocation (nginx's <c>ssl_crl</c>) refuses.
    /// </summary>
    public string CreateRevocationList(IEnumerable<string> serials, DateTimeOffset now, DateTimeOffset nextUpdate)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var serial in serials.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            builder.AddEntry(Convert.FromHexString(serial), now.AddMinutes(-5), X509RevocationReason.Superseded);
        }

        var cappedNextUpdate = nextUpdate < Certificate.NotAfter ? nextUpdate : new DateTimeOffset(Certificate.NotAfter.ToUniversalTime());
        var der = builder.Build(Certificate, new System.Numerics.BigInteger(now.ToUnixTimeMilliseconds()), cappedNextUpdate, HashAlgorithmName.SHA256, thisUpdate: now.AddMinutes(-5));
        return PemEncoding.WriteString("X509 CRL", der) + "\n";
    }

    /// <summary>Whether <paramref name="certificate"/> chains to this CA at <paramref name="at"/>, for client and server authentication.</summary>
    public bool Validates(X509Certificate2 certificate, DateTimeOffset at)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        return chain.Build(certificate) && chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(Certificate.RawDataMemory.Span);
    }

    public void Dispose() => Certificate.Dispose();
}
