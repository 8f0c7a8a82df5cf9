using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bpi.Orchestration.Nginx;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Components.Tests.Nginx;

/// <summary>Skips nginx tests when no nginx is installed, or fails them when <c>BPI_REQUIRE_NGINX=1</c> (CI installs it).</summary>
internal static class NginxTestEnvironment
{
    public const string RequireVariable = "BPI_REQUIRE_NGINX";

    public static bool IsRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>The nginx executable, or a skip (a failure when required) when there is none.</summary>
    public static string RequireNginx()
    {
        if (NginxProcess.Locate(null) is { } nginx)
        {
            return nginx;
        }

        if (IsRequired)
        {
            throw new InvalidOperationException($"{RequireVariable}=1 but no nginx binary was found on PATH or at /usr/sbin/nginx.");
        }

        Skip.If(true, $"No nginx binary found (PATH, /usr/sbin/nginx); install Debian's nginx-light (see .ci/engines/nginx.sh). Set {RequireVariable}=1 to make this a failure.");
        return null!;
    }
}

/// <summary>A CueNginx router on a fresh, short state directory; disposing it stops nginx and deletes the directory.</summary>
internal sealed class NginxTestRouter : IAsyncDisposable
{
    private NginxTestRouter(CueNginxRouter router, string directory)
    {
        Router = router;
        Directory = directory;
    }

    public CueNginxRouter Router { get; }

    public string Directory { get; }

    public static string NewDirectory() => Path.Combine(Path.GetTempPath(), "bpi-ngx-" + Guid.NewGuid().ToString("N")[..8]);

    public static NginxTestRouter Create(Action<CueNginxOptions>? configure = null, ILoggerFactory? loggerFactory = null, string? directory = null)
    {
        NginxTestEnvironment.RequireNginx();
        directory ??= NewDirectory();
        var options = new CueNginxOptions { StateDirectory = directory, StopOnDispose = true, WorkerProcesses = 2 };
        configure?.Invoke(options);
        return new NginxTestRouter(new CueNginxRouter(Options.Create(options), loggerFactory: loggerFactory), directory);
    }

    public static TrafficRoute Route(string service, params (int Revision, int Weight, ServiceEndpoint[] Endpoints)[] backends)
        => new(service, [.. backends.Select(b => new TrafficBackend(b.Revision, b.Weight, b.Endpoints))]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Router.StopAsync();
        }
        catch (ObjectDisposedException)
        {
            // The test disposed the router itself.
        }

        await Router.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>HTTP clients for nginx tests: status codes and headers, one request per connection or keep-alive.</summary>
internal static class NginxHttp
{
    /// <summary>The subject of the tests' self-signed certificate, the only one the clients accept.</summary>
    public const string TestCertificateSubject = "CN=bpi-nginx-test";

    /// <summary>A client that never reuses a connection (each request opens its own), trusting the tests' self-signed certificate.</summary>
    public static HttpClient NewConnectionPerRequest() => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.Zero,
        SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.Subject == TestCertificateSubject },
        AutomaticDecompression = DecompressionMethods.None,
    })
    { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>A keep-alive client trusting the tests' self-signed certificate.</summary>
    public static HttpClient KeepAlive() => new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.Subject == TestCertificateSubject },
        AutomaticDecompression = DecompressionMethods.None,
    })
    { Timeout = TimeSpan.FromSeconds(30) };

    public static Uri Url(ServiceEndpoint endpoint, string scheme = "http") => new($"{scheme}://{endpoint}/");

    /// <summary>A self-signed certificate and key as PEM files in <paramref name="directory"/>.</summary>
    public static (string Certificate, string Key) WriteSelfSignedCertificate(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(TestCertificateSubject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        var certificatePath = Path.Combine(directory, "tls.crt");
        var keyPath = Path.Combine(directory, "tls.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    /// <summary>Whether the process is gone (or a zombie nobody reaps).</summary>
    public static bool IsGone(int pid) => OsProcesses.TryRead(pid) is not { IsZombie: false };
}
