using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Nginx;

/// <summary>One service as rendered: its route, the port nginx listens on for it, and its settings.</summary>
internal sealed record NginxServiceConfig(TrafficRoute Route, int Port, NginxServiceOptions Options)
{
    public string ServiceId => Route.ServiceId;
}

/// <summary>
/// Renders the whole nginx config of CueNginx: one file, every path inside the prefix (pid, logs, temporary files, the
/// control socket), a control server on a unix socket that answers the config's generation (how a reload is confirmed),
/// and per service an upstream with weighted servers and a server with its listener, TLS, gzip and HttpCage. Pure: the
/// same input gives the same text.
/// </summary>
internal static class NginxConfigRenderer
{
    public const string ControlSocketName = "control.sock";
    public const string GenerationPath = "/bpi/generation";
    public const string StatusPath = "/bpi/status";

    public static string Render(CueNginxOptions options, string prefix, long generation, IEnumerable<NginxServiceConfig> services)
    {
        var w = new ConfigWriter();
        w.Line("# Rendered by Bpi.Orchestration CueNginx; generation " + Number(generation) + ". Do not edit: the next change replaces this file.");
        w.Line("worker_processes " + (options.WorkerProcesses == 0 ? "auto" : Number(options.WorkerProcesses)) + ";");
        w.Line("pid " + Quote(Path.Combine(prefix, "nginx.pid")) + ";");
        w.Line("error_log " + Quote(Path.Combine(prefix, "logs", "error.log")) + " warn;");
        if (options.WorkerShutdownTimeout is { } shutdown)
        {
            w.Line("worker_shutdown_timeout " + Milliseconds(shutdown) + ";");
        }

        w.Open("events");
        w.Line("worker_connections " + Number(options.WorkerConnections) + ";");
        w.Close();

        w.Open("http");
        w.Line(options.AccessLog ? "access_log " + Quote(Path.Combine(prefix, "logs", "access.log")) + ";" : "access_log off;");
        foreach (var temp in new[] { "client_body", "proxy", "fastcgi", "uwsgi", "scgi" })
        {
            w.Line(temp + "_temp_path " + Quote(Path.Combine(prefix, "temp", temp)) + ";");
        }

        w.Line("server_tokens off;");
        w.Line("default_type application/octet-stream;");
        w.Line("limit_req_log_level info;");
        w.Line("limit_conn_log_level info;");
        w.Line("variables_hash_max_size 4096;");
        w.Line("variables_hash_bucket_size 128;");

        w.Open("server");
        w.Line("# control: CueNginx confirms reloads here");
        w.Line("listen " + Quote("unix:" + Path.Combine(prefix, ControlSocketName)) + ";");
        w.Line("access_log off;");
        w.Open("location = " + GenerationPath);
        w.Line("default_type text/plain;");
        w.Line("return 200 \"" + Number(generation) + "\";");
        w.Close();
        w.Open("location = " + StatusPath);
        w.Line("stub_status;");
        w.Close();
        w.Open("location /");
        w.Line("return 404;");
        w.Close();
        w.Close();

        foreach (var service in services.OrderBy(s => s.ServiceId, StringComparer.Ordinal))
        {
            RenderService(w, options, service);
        }

        w.Close();
        return w.ToString();
    }

    /// <summary>A name for nginx (upstream, zones, variables) unique per service id: a readable slug and a hash.</summary>
    public static string NameOf(string serviceId)
    {
        var slug = new StringBuilder();
        foreach (var c in serviceId.ToLowerInvariant())
        {
            if (slug.Length >= 24)
            {
                break;
            }

            slug.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(serviceId)))[..8];
        return "bpi_" + slug + "_" + hash;
    }

    /// <summary>The text of a <c>listen</c> address: IPv6 in brackets.</summary>
    public static string ListenAddress(string address, int port)
        => (IPAddress.TryParse(address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + address + "]" : address) + ":" + Number(port);

    private static void RenderService(ConfigWriter w, CueNginxOptions options, NginxServiceConfig service)
    {
        var name = NameOf(service.ServiceId);
        var settings = service.Options;
        var cage = settings.HttpCage?.Resolve();
        var servers = NginxWeights.Split(service.Route.Backends);
        var live = servers.Any(s => !s.IsDown);

        w.Line();
        w.Line("# service " + Printable(service.ServiceId) + ": " + string.Join(", ", service.Route.Backends.Select(b => "r" + Number(b.Revision) + "=" + Number(b.Weight) + "%")));
        if (live)
        {
            w.Open("upstream " + name);
            if (settings.SharedUpstreamState)
            {
                w.Line("zone " + name + " " + Number(64 + servers.Count) + "k;");
            }

            switch (settings.LoadBalancing)
            {
                case NginxLoadBalancing.LeastConnections:
                    w.Line("least_conn;");
                    break;
                case NginxLoadBalancing.IpHash:
                    w.Line("ip_hash;");
                    break;
            }

            foreach (var server in servers)
            {
                var line = new StringBuilder("server ").Append(server.Endpoint.ToString());
                if (server.IsDown)
                {
                    line.Append(" down");
                }
                else
                {
                    line.Append(" weight=").Append(Number(server.Weight))
                        .Append(" max_fails=").Append(Number(settings.MaxFails))
                        .Append(" fail_timeout=").Append(Number((long)settings.FailTimeout.TotalSeconds)).Append('s');
                }

                w.Line(line.Append("; # revision ").Append(Number(server.Revision)).ToString());
            }

            if (settings.UpstreamKeepalive > 0)
            {
                w.Line("keepalive " + Number(settings.UpstreamKeepalive) + ";");
            }

            w.Close();
        }

        if (cage is not null)
        {
            if (cage.RateLimiting)
            {
                w.Line("limit_req_zone $binary_remote_addr zone=" + name + "_req:10m rate=" + Number(cage.RequestsPerSecond) + "r/s;");
            }

            if (cage.DdosProtection)
            {
                w.Line("limit_conn_zone $binary_remote_addr zone=" + name + "_conn:10m;");
            }

            w.Open("map $request_method $" + MethodVariable(name));
            foreach (var method in cage.AllowedMethods)
            {
                w.Line(method + " 1;");
            }

            w.Line("default 0;");
            w.Close();
        }

        w.Open("server");
        w.Line("listen " + ListenAddress(options.ListenAddress, service.Port) + (settings.Tls is null ? "" : " ssl") + ";");
        if (settings.Tls is { } tls)
        {
            w.Line("ssl_certificate " + Quote(tls.CertificatePath) + ";");
            w.Line("ssl_certificate_key " + Quote(tls.KeyPath) + ";");
            w.Line("ssl_protocols " + string.Join(' ', tls.Protocols) + ";");
            w.Line("ssl_session_cache shared:" + name + "_tls:1m;");
        }

        if (settings.Gzip)
        {
            w.Line("gzip on;");
            w.Line("gzip_proxied any;");
            w.Line("gzip_vary on;");
            w.Line("gzip_min_length " + Number(settings.GzipMinLength) + ";");
            w.Line("gzip_types " + string.Join(' ', settings.GzipTypes) + ";");
        }

        if (cage is not null)
        {
            RenderCage(w, name, cage);
        }

        w.Open("location /");
        var headers = cage is null ? [] : SecurityHeaders(cage, settings.Tls is not null);
        if (cage is not null)
        {
            w.Open("if ($" + MethodVariable(name) + " = 0)");
            w.Line("add_header Allow " + Quote(string.Join(", ", cage.AllowedMethods)) + " always;");
            foreach (var (header, value) in headers)
            {
                w.Line("add_header " + header + " " + Quote(value) + " always;");
            }

            w.Line("return 405;");
            w.Close();
            foreach (var (header, value) in headers)
            {
                // The cage's headers are authoritative: a backend's own copy is dropped rather than sent twice.
                w.Line("proxy_hide_header " + header + ";");
                w.Line("add_header " + header + " " + Quote(value) + " always;");
            }
        }

        if (live)
        {
            w.Line("proxy_pass http://" + name + ";");
            w.Line("proxy_http_version 1.1;");
            w.Line("proxy_set_header Connection \"\";");
            w.Line("proxy_set_header Host $host;");
            w.Line("proxy_set_header X-Real-IP $remote_addr;");
            w.Line("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;");
            w.Line("proxy_set_header X-Forwarded-Proto $scheme;");
            w.Line("proxy_connect_timeout " + Milliseconds(settings.ConnectTimeout) + ";");
            w.Line("proxy_read_timeout " + Milliseconds(settings.ReadTimeout) + ";");
            w.Line("proxy_next_upstream error timeout;");
        }
        else
        {
            w.Line("# no revision has a weight and an endpoint");
            w.Line("return 503;");
        }

        foreach (var directive in settings.ExtraLocationDirectives)
        {
            w.Line(directive.Trim());
        }

        w.Close();
        w.Close();
    }

    /// <summary>The variable telling whether the request's method is allowed: short, since every variable name goes into one hash.</summary>
    private static string MethodVariable(string name) => "bpi_method_" + name[^8..];

    private static void RenderCage(ConfigWriter w, string name, HttpCagePolicy cage)
    {
        w.Line("# HttpCage: security level " + cage.SecurityLevel.ToString().ToLowerInvariant());
        w.Line("client_max_body_size " + Number(cage.MaxBodySize) + ";");
        if (cage.RateLimiting)
        {
            w.Line("limit_req zone=" + name + "_req burst=" + Number(cage.Burst) + " nodelay;");
            w.Line("limit_req_status " + Number(cage.RejectStatusCode) + ";");
        }

        if (cage.DdosProtection)
        {
            w.Line("limit_conn " + name + "_conn " + Number(cage.ConnectionsPerClient) + ";");
            w.Line("limit_conn_status " + Number(cage.RejectStatusCode) + ";");
            w.Line("client_header_timeout " + Milliseconds(cage.ClientHeaderTimeout) + ";");
            w.Line("client_body_timeout " + Milliseconds(cage.ClientBodyTimeout) + ";");
            w.Line("send_timeout " + Milliseconds(cage.SendTimeout) + ";");
            w.Line("keepalive_timeout " + Milliseconds(cage.KeepaliveTimeout) + ";");
        }
    }

    private static List<(string Header, string Value)> SecurityHeaders(HttpCagePolicy cage, bool tls)
    {
        var headers = new List<(string, string)> { ("X-Content-Type-Options", "nosniff") };
        if (cage.FrameOptions.Length > 0)
        {
            headers.Add(("X-Frame-Options", cage.FrameOptions));
        }

        if (cage.ContentSecurityPolicy.Length > 0)
        {
            headers.Add(("Content-Security-Policy", cage.ContentSecurityPolicy));
        }

        if (cage.ReferrerPolicy.Length > 0)
        {
            headers.Add(("Referrer-Policy", cage.ReferrerPolicy));
        }

        if (tls && cage.HstsMaxAge > TimeSpan.Zero)
        {
            headers.Add(("Strict-Transport-Security", "max-age=" + Number((long)cage.HstsMaxAge.TotalSeconds) + (cage.HstsIncludeSubDomains ? "; includeSubDomains" : "")));
        }

        return headers;
    }

    /// <summary>A double-quoted nginx string; values are validated to hold no quote, backslash, <c>$</c> or control character.</summary>
    private static string Quote(string value) => "\"" + value + "\"";

    private static string Printable(string text) => new([.. text.Select(c => char.IsControl(c) ? '?' : c)]);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Milliseconds(TimeSpan value) => Number((long)Math.Ceiling(value.TotalMilliseconds)) + "ms";

    /// <summary>Writes indented lines and blocks.</summary>
    private sealed class ConfigWriter
    {
        private readonly StringBuilder _text = new();
        private int _depth;

        public void Line(string line = "")
        {
            if (line.Length > 0)
            {
                _text.Append(' ', 4 * _depth).Append(line);
            }

            _text.Append('\n');
        }

        public void Open(string block)
        {
            Line(block + " {");
            _depth++;
        }

        public void Close()
        {
            _depth--;
            Line("}");
        }

        public override string ToString() => _text.ToString();
    }
}
