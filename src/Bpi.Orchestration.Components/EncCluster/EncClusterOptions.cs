using System.Net;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.EncCluster;

/// <summary>Options of the EncCluster component manager (<c>AddEncCluster</c>).</summary>
public sealed class EncClusterOptions
{
    /// <summary>The address the members' TLS listeners and the orchestrator's plain-side listeners bind to.</summary>
    /// <value>The default value is <c>127.0.0.1</c> (loopback only).</value>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>
    /// Where the certificate authority is kept: its certificate and its private key sealed with the registered
    /// <see cref="Security.ISecretSealer"/> (<c>AddSecretProtection</c> of the Security package), so the same CA survives a
    /// restart. <see langword="null"/> keeps a CA in memory only, made anew at every start.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? AuthorityFile { get; set; }

    /// <summary>How long a newly made certificate authority is valid.</summary>
    /// <value>The default value is 365 days.</value>
    public TimeSpan AuthorityLifetime { get; set; } = TimeSpan.FromDays(365);

    /// <summary>How long a TLS handshake may take before the connection is closed.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long connecting to a member may take.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a certificate rotation on Docker waits for each member's TLS sidecar to confirm that its nginx applied a
    /// reload (the orchestrator connects to the sidecar's published TLS port until the new configuration answers and the
    /// previous configuration's worker no longer takes connections). A sidecar that does not confirm in time fails the
    /// rotation, and every sidecar is put back on the certificate it served before.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan SidecarReloadTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The image of the per-member TLS proxy on Docker: an nginx (1.19.5 or later) with the stream and stream-SSL modules,
    /// its binary at <c>/usr/sbin/nginx</c>, as the official nginx images have. It runs as a sidecar sharing the member's
    /// network namespace, as user 65534, with every capability dropped.
    /// </summary>
    /// <value>The default value is <c>nginx:1.27-alpine</c> (the official image, stream module built in).</value>
    public string DockerProxyImage { get; set; } = "nginx:1.27-alpine";

    /// <summary>
    /// nginx dynamic modules the proxy loads first (<c>load_module</c>), absolute paths inside <see cref="DockerProxyImage"/>;
    /// empty when the stream module is built in (the official images). Debian's nginx with <c>libnginx-mod-stream</c>
    /// needs <c>/usr/lib/nginx/modules/ngx_stream_module.so</c>.
    /// </summary>
    public IList<string> DockerProxyModules { get; } = [];

    /// <summary>Extra DNS names every cluster certificate carries, besides <c>localhost</c>, the loopback addresses and <c>{deployment}.enc.local</c>.</summary>
    public IList<string> ExtraHostNames { get; } = [];
}

/// <summary>Checks <see cref="EncClusterOptions"/> and lists every problem.</summary>
internal sealed class EncClusterOptionsValidator : IValidateOptions<EncClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, EncClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!IPAddress.TryParse(options.ListenAddress, out _))
        {
            errors.Add($"{nameof(EncClusterOptions)}.{nameof(EncClusterOptions.ListenAddress)}: '{options.ListenAddress}' is not an IP address; use for example 127.0.0.1.");
        }

        if (options.AuthorityFile is { } file && string.IsNullOrWhiteSpace(file))
        {
            errors.Add($"{nameof(EncClusterOptions)}.{nameof(EncClusterOptions.AuthorityFile)}: is blank; give a file path, or null to keep the CA in memory.");
        }

        if (options.AuthorityLifetime < TimeSpan.FromDays(1))
        {
            errors.Add($"{nameof(EncClusterOptions)}.{nameof(EncClusterOptions.AuthorityLifetime)}: {options.AuthorityLifetime} is shorter than a day; use at least 1 day (it must outlive the certificates it issues).");
        }

        foreach (var (value, property) in new[] { (options.HandshakeTimeout, nameof(EncClusterOptions.HandshakeTimeout)), (options.ConnectTimeout, nameof(EncClusterOptions.ConnectTimeout)), (options.SidecarReloadTimeout, nameof(EncClusterOptions.SidecarReloadTimeout)) })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"{nameof(EncClusterOptions)}.{property}: {value} is not positive; use a duration greater than zero.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.DockerProxyImage))
        {
            errors.Add($"{nameof(EncClusterOptions)}.{nameof(EncClusterOptions.DockerProxyImage)}: is blank; name an nginx image with the stream module, for example nginx:1.27-alpine.");
        }

        if (options.DockerProxyModules.Any(m => !m.StartsWith('/') || m.Any(c => char.IsWhiteSpace(c) || c is ';' or '"' or '\'' or '{' or '}')))
        {
            errors.Add($"{nameof(EncClusterOptions)}.{nameof(EncClusterOptions.DockerProxyModules)}: every entry must be an absolute path inside the image without spaces, quotes, braces or ';'; fix or remove the others.");
        }

        if (options.ExtraHostNames.Any(h => Uri.CheckHostName(h) != UriHostNameType.Dns))
        {
            errors.Add($"{nameof(EncClusterOptions)}.{nameof(EncClusterOptions.ExtraHostNames)}: every entry must be a DNS name; remove or fix the others.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
