using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Nginx;

/// <summary>Checks <see cref="CueNginxOptions"/>, its services and their HttpCage settings, and lists every problem.</summary>
internal sealed class CueNginxOptionsValidator : IValidateOptions<CueNginxOptions>
{
    /// <summary>The longest path of a unix socket (<c>sun_path</c> holds 108 bytes with the terminating zero).</summary>
    private const int MaxSocketPath = 107;

    /// <summary>The start of every problem's path: the options type, as in "CueNginxOptions.ListenAddress: …".</summary>
    private const string Type = nameof(CueNginxOptions) + ".";

    private static readonly HashSet<string> TlsProtocols = new(["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"], StringComparer.Ordinal);

    public ValidateOptionsResult Validate(string? name, CueNginxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.NginxPath is { } nginx && string.IsNullOrWhiteSpace(nginx))
        {
            errors.Add($"{nameof(CueNginxOptions)}.{nameof(CueNginxOptions.NginxPath)}: blank; leave it null to find nginx on PATH.");
        }

        if (options.StateDirectory is { } directory)
        {
            if (string.IsNullOrWhiteSpace(directory) || !IsSafeText(directory))
            {
                errors.Add($"{nameof(CueNginxOptions)}.{nameof(CueNginxOptions.StateDirectory)}: '{directory}' must be a path without quotes, backslashes, '$' or control characters.");
            }
            else if (Encoding.UTF8.GetByteCount(Path.Combine(Path.GetFullPath(directory), NginxConfigRenderer.ControlSocketName)) > MaxSocketPath)
            {
                errors.Add($"{nameof(CueNginxOptions)}.{nameof(CueNginxOptions.StateDirectory)}: '{directory}' is too long for nginx's control socket ({NginxConfigRenderer.ControlSocketName} inside it must fit in {MaxSocketPath} bytes); choose a shorter path.");
            }
        }

        if (!IPAddress.TryParse(options.ListenAddress, out _))
        {
            errors.Add($"{nameof(CueNginxOptions)}.{nameof(CueNginxOptions.ListenAddress)}: '{options.ListenAddress}' is not an IP address; use for example 127.0.0.1, 0.0.0.0 or ::1.");
        }

        if (options.WorkerProcesses < 0)
        {
            errors.Add($"{nameof(CueNginxOptions)}.{nameof(CueNginxOptions.WorkerProcesses)}: {Number(options.WorkerProcesses)} must be 0 (one per core) or more.");
        }

        if (options.WorkerConnections is < 16 or > 1_000_000)
        {
            errors.Add($"{nameof(CueNginxOptions)}.{nameof(CueNginxOptions.WorkerConnections)}: {Number(options.WorkerConnections)} must be between 16 and 1000000.");
        }

        if (options.WorkerShutdownTimeout is { } shutdown && shutdown <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(CueNginxOptions)}.{nameof(CueNginxOptions.WorkerShutdownTimeout)}: must be greater than zero, or null to let open connections finish.");
        }

        Positive(errors, Type + nameof(CueNginxOptions.CommandTimeout), options.CommandTimeout);
        Positive(errors, Type + nameof(CueNginxOptions.ReloadTimeout), options.ReloadTimeout);
        Positive(errors, Type + nameof(CueNginxOptions.ShutdownTimeout), options.ShutdownTimeout);
        if (options.DefaultService is null)
        {
            errors.Add($"{nameof(CueNginxOptions)}.{nameof(CueNginxOptions.DefaultService)}: null; set the settings every service without its own entry uses (or leave the default).");
        }
        else
        {
            ValidateService(errors, Type + nameof(CueNginxOptions.DefaultService), options.DefaultService);
        }

        foreach (var (serviceId, service) in options.Services)
        {
            var path = $"{Type}{nameof(CueNginxOptions.Services)}[{serviceId}]";
            if (string.IsNullOrWhiteSpace(serviceId))
            {
                errors.Add($"{path}: the service id is empty; key each entry by the service id it configures.");
            }

            if (service is null)
            {
                errors.Add($"{path}: null; give the service its settings, or remove the entry to use DefaultService.");
                continue;
            }

            ValidateService(errors, path, service);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateService(List<string> errors, string path, NginxServiceOptions service)
    {
        if (!Enum.IsDefined(service.LoadBalancing))
        {
            errors.Add($"{path}.{nameof(NginxServiceOptions.LoadBalancing)}: {service.LoadBalancing} is not a balancing method; use RoundRobin, LeastConnections or IpHash.");
        }

        if (service.MaxFails < 0)
        {
            errors.Add($"{path}.{nameof(NginxServiceOptions.MaxFails)}: {Number(service.MaxFails)} must be 0 (never skip a backend) or more.");
        }

        if (service.FailTimeout < TimeSpan.FromSeconds(1) || service.FailTimeout.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            errors.Add($"{path}.{nameof(NginxServiceOptions.FailTimeout)}: {service.FailTimeout} must be a whole number of seconds, at least 1 (nginx's fail_timeout counts seconds).");
        }

        Positive(errors, path + "." + nameof(NginxServiceOptions.ConnectTimeout), service.ConnectTimeout);
        Positive(errors, path + "." + nameof(NginxServiceOptions.ReadTimeout), service.ReadTimeout);
        if (service.UpstreamKeepalive < 0)
        {
            errors.Add($"{path}.{nameof(NginxServiceOptions.UpstreamKeepalive)}: {Number(service.UpstreamKeepalive)} must be 0 or more.");
        }

        if (service.GzipMinLength < 0)
        {
            errors.Add($"{path}.{nameof(NginxServiceOptions.GzipMinLength)}: {Number(service.GzipMinLength)} must be 0 or more.");
        }

        foreach (var type in service.GzipTypes ?? [])
        {
            if (string.IsNullOrEmpty(type) || !type.Contains('/', StringComparison.Ordinal) || !type.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '+' or '-' or '_' or '*'))
            {
                errors.Add($"{path}.{nameof(NginxServiceOptions.GzipTypes)}: '{type}' is not a content type such as text/plain.");
            }
        }

        foreach (var directive in service.ExtraLocationDirectives ?? [])
        {
            if (string.IsNullOrWhiteSpace(directive) || !directive.TrimEnd().EndsWith(';') || directive.Any(char.IsControl))
            {
                errors.Add($"{path}.{nameof(NginxServiceOptions.ExtraLocationDirectives)}: '{directive}' must be one directive on one line, ending with ';'.");
            }
        }

        if (service.Tls is { } tls)
        {
            SafePath(errors, path + ".Tls." + nameof(NginxTlsOptions.CertificatePath), tls.CertificatePath);
            SafePath(errors, path + ".Tls." + nameof(NginxTlsOptions.KeyPath), tls.KeyPath);
            if (tls.Protocols is null || tls.Protocols.Count == 0 || tls.Protocols.Any(p => !TlsProtocols.Contains(p)))
            {
                errors.Add($"{path}.Tls.{nameof(NginxTlsOptions.Protocols)}: list one or more of TLSv1.2, TLSv1.3 (TLSv1 and TLSv1.1 are accepted but obsolete).");
            }
        }

        if (service.HttpCage is { } cage)
        {
            ValidateCage(errors, path + "." + nameof(NginxServiceOptions.HttpCage), cage);
        }
    }

    private static void ValidateCage(List<string> errors, string path, HttpCageOptions cage)
    {
        if (!Enum.IsDefined(cage.SecurityLevel))
        {
            errors.Add($"{path}.{nameof(HttpCageOptions.SecurityLevel)}: {cage.SecurityLevel} is not a level; use Low, Medium, High or Maximum.");
            return;
        }

        var policy = cage.Resolve();
        if (policy.RequestsPerSecond < 1)
        {
            errors.Add($"{path}.{nameof(HttpCageOptions.RequestsPerSecond)}: {Number(policy.RequestsPerSecond)} must be at least 1.");
        }

        if (policy.Burst < 0)
        {
            errors.Add($"{path}.{nameof(HttpCageOptions.Burst)}: {Number(policy.Burst)} must be 0 or more.");
        }

        if (policy.ConnectionsPerClient is < 1 or > 65535)
        {
            errors.Add($"{path}.{nameof(HttpCageOptions.ConnectionsPerClient)}: {Number(policy.ConnectionsPerClient)} must be between 1 and 65535 (nginx's limit).");
        }

        if (policy.MaxBodySize < 0)
        {
            errors.Add($"{path}.{nameof(HttpCageOptions.MaxBodySize)}: {Number(policy.MaxBodySize)} must be 0 (no limit) or more bytes.");
        }

        if (policy.AllowedMethods.Count == 0 || policy.AllowedMethods.Any(m => string.IsNullOrEmpty(m) || !m.All(c => char.IsAsciiLetterUpper(c) || c is '_' or '-')))
        {
            errors.Add($"{path}.{nameof(HttpCageOptions.AllowedMethods)}: list one or more methods in upper case, such as GET and POST.");
        }

        Positive(errors, path + "." + nameof(HttpCageOptions.ClientHeaderTimeout), policy.ClientHeaderTimeout);
        Positive(errors, path + "." + nameof(HttpCageOptions.ClientBodyTimeout), policy.ClientBodyTimeout);
        Positive(errors, path + "." + nameof(HttpCageOptions.SendTimeout), policy.SendTimeout);
        Positive(errors, path + "." + nameof(HttpCageOptions.KeepaliveTimeout), policy.KeepaliveTimeout);
        if (policy.RejectStatusCode is < 400 or > 599)
        {
            errors.Add($"{path}.{nameof(HttpCageOptions.RejectStatusCode)}: {Number(policy.RejectStatusCode)} must be an error status from 400 to 599, such as 429 or 503.");
        }

        SafeHeader(errors, path + "." + nameof(HttpCageOptions.FrameOptions), policy.FrameOptions);
        SafeHeader(errors, path + "." + nameof(HttpCageOptions.ContentSecurityPolicy), policy.ContentSecurityPolicy);
        SafeHeader(errors, path + "." + nameof(HttpCageOptions.ReferrerPolicy), policy.ReferrerPolicy);
        if (policy.HstsMaxAge < TimeSpan.Zero)
        {
            errors.Add($"{path}.{nameof(HttpCageOptions.HstsMaxAge)}: must be zero (no HSTS) or more.");
        }
    }

    private static void Positive(List<string> errors, string path, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{path}: {value} is not positive; use a duration greater than zero.");
        }
    }

    private static void SafePath(List<string> errors, string path, string value)
    {
        if (string.IsNullOrWhiteSpace(value) || !IsSafeText(value))
        {
            errors.Add($"{path}: '{value}' must be a file path without quotes, backslashes, '$' or control characters.");
        }
    }

    private static void SafeHeader(List<string> errors, string path, string? value)
    {
        if (value is null || !IsSafeText(value))
        {
            errors.Add($"{path}: '{value}' must be a header value without quotes, backslashes, '$' or control characters (empty sends no header).");
        }
    }

    /// <summary>Whether a value can go inside a double-quoted nginx string as it is: nginx has no escape for <c>$</c>.</summary>
    internal static bool IsSafeText(string value) => !value.Any(c => c is '"' or '\\' or '$' || char.IsControl(c));

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
