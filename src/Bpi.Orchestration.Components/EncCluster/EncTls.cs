using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Bpi.Orchestration.EncCluster;

/// <summary>The TLS settings of every EncCluster connection: TLS 1.3 only, TLS_AES_256_GCM_SHA384 only, certificates both ways.</summary>
internal static class EncTls
{
    /// <summary>The only cipher suite offered and accepted (the seed's aes256gcm).</summary>
    public const TlsCipherSuite CipherSuite = TlsCipherSuite.TLS_AES_256_GCM_SHA384;

    /// <summary>Restricts the suites where the platform lets .NET do it (Linux and macOS, through OpenSSL); <see langword="null"/> elsewhere.</summary>
    public static CipherSuitesPolicy? Policy { get; } = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? new CipherSuitesPolicy([CipherSuite]) : null;

    public static SslServerAuthenticationOptions ServerOptions(ClusterIdentity identity, Action<string> refused) => new()
    {
        // Read per connection: a rotation changes what the next handshake presents, never one in flight.
        ServerCertificateContext = identity.Current.Context,
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls13,
        CipherSuitesPolicy = Policy,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            if (identity.Accepts(certificate as X509Certificate2 ?? (certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData())), out var reason))
            {
                return true;
            }

            refused(reason);
            return false;
        },
    };

    public static SslClientAuthenticationOptions ClientOptions(ClusterIdentity identity) => new()
    {
        TargetHost = identity.HostName,
        ClientCertificateContext = identity.Current.Context,
        EnabledSslProtocols = SslProtocols.Tls13,
        CipherSuitesPolicy = Policy,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            (errors & ~(SslPolicyErrors.RemoteCertificateChainErrors)) == SslPolicyErrors.None
            && identity.Accepts(certificate as X509Certificate2, out _),
    };

    /// <summary>Whether the suite can be enforced here; the component manager refuses EncCluster specs where it cannot.</summary>
    public static bool CanRestrictCipherSuites => Policy is not null && RuntimeInformation.OSArchitecture is not Architecture.Wasm;
}
