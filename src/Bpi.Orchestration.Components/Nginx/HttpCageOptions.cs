namespace Bpi.Orchestration.Nginx;

/// <summary>The seed design's <c>security_level</c>: how tight HttpCage's presets are.</summary>
public enum HttpCageSecurityLevel
{
    /// <summary>Generous limits for trusted or internal traffic.</summary>
    Low = 0,

    /// <summary>Limits that suit most public APIs and sites.</summary>
    Medium,

    /// <summary>Tight limits, a restrictive CSP, no <c>OPTIONS</c>.</summary>
    High,

    /// <summary>The tightest limits: only <c>GET</c>, <c>HEAD</c> and <c>POST</c>, small bodies, short timeouts.</summary>
    Maximum,
}

/// <summary>
/// HttpCage: HTTP protection in front of a service, rendered into the service's nginx server. Start from the preset of
/// <see cref="SecurityLevel"/>; every property left <see langword="null"/> takes the preset's value, every one set overrides
/// it. <see cref="Resolve"/> shows the result.
/// </summary>
/// <remarks>
/// <para><see cref="RateLimiting"/> switches the per-client request rate limit (<c>limit_req</c>, with <see cref="Burst"/>
/// served at once and the excess refused with <see cref="RejectStatusCode"/>). <see cref="DdosProtection"/> switches
/// the per-client connection limit (<c>limit_conn</c>) and the slow-client timeouts (header, body, send, keep-alive);
/// without it nginx's defaults apply. Body size, allowed methods and security headers are always on.</para>
/// <para>Clients are told apart by their address (<c>$binary_remote_addr</c>).</para>
/// </remarks>
public sealed class HttpCageOptions
{
    /// <summary>The preset the other properties start from.</summary>
    /// <value>The default value is <see cref="HttpCageSecurityLevel.Medium"/>.</value>
    public HttpCageSecurityLevel SecurityLevel { get; set; } = HttpCageSecurityLevel.Medium;

    /// <summary>The seed's <c>rate_limiting</c>: whether each client's request rate is limited.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool RateLimiting { get; set; } = true;

    /// <summary>The seed's <c>ddos_protection</c>: whether each client's connections are limited and slow clients are cut off by short timeouts.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool DdosProtection { get; set; } = true;

    /// <summary>Requests per second each client may send on average; <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (Low 100, Medium 50, High 20, Maximum 10).</value>
    public int? RequestsPerSecond { get; set; }

    /// <summary>Requests above the rate each client may send at once before it is refused; <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (twice the preset's rate).</value>
    public int? Burst { get; set; }

    /// <summary>Connections each client may hold open at once; <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (Low 100, Medium 50, High 20, Maximum 10).</value>
    public int? ConnectionsPerClient { get; set; }

    /// <summary>The largest request body in bytes (<c>client_max_body_size</c>; larger ones get 413, 0 checks none); <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (Low 100 MiB, Medium 10 MiB, High 1 MiB, Maximum 256 KiB).</value>
    public long? MaxBodySize { get; set; }

    /// <summary>The HTTP methods served (others get 405 with an <c>Allow</c> header); <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (Low and Medium: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; High: without OPTIONS; Maximum: GET, HEAD, POST).</value>
    public IList<string>? AllowedMethods { get; set; }

    /// <summary>How long a client may take to send the request headers (<c>client_header_timeout</c>); <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (Low 60 s, Medium 30 s, High 10 s, Maximum 5 s).</value>
    public TimeSpan? ClientHeaderTimeout { get; set; }

    /// <summary>How long a client may pause between two reads of the request body (<c>client_body_timeout</c>); <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (as <see cref="ClientHeaderTimeout"/>).</value>
    public TimeSpan? ClientBodyTimeout { get; set; }

    /// <summary>How long a client may pause between two writes of the response (<c>send_timeout</c>); <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (as <see cref="ClientHeaderTimeout"/>).</value>
    public TimeSpan? SendTimeout { get; set; }

    /// <summary>How long an idle keep-alive client connection stays open (<c>keepalive_timeout</c>); <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (Low 75 s, Medium 30 s, High 15 s, Maximum 5 s).</value>
    public TimeSpan? KeepaliveTimeout { get; set; }

    /// <summary>The status of a request refused by the rate or connection limit: 429 (Too Many Requests) or, for example, 503; <see langword="null"/> takes 429.</summary>
    /// <value>The default value is <see langword="null"/> (429).</value>
    public int? RejectStatusCode { get; set; }

    /// <summary>The <c>X-Frame-Options</c> header (<c>DENY</c> or <c>SAMEORIGIN</c>); empty sends none; <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (Low and Medium <c>SAMEORIGIN</c>, High and Maximum <c>DENY</c>).</value>
    public string? FrameOptions { get; set; }

    /// <summary>The <c>Content-Security-Policy</c> header; empty sends none; <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (Low and Medium none, High <c>default-src 'self'; frame-ancestors 'none'</c>, Maximum <c>default-src 'none'; frame-ancestors 'none'</c>).</value>
    public string? ContentSecurityPolicy { get; set; }

    /// <summary>The <c>Referrer-Policy</c> header; empty sends none; <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (Low and Medium <c>strict-origin-when-cross-origin</c>, High and Maximum <c>no-referrer</c>).</value>
    public string? ReferrerPolicy { get; set; }

    /// <summary>The <c>max-age</c> of <c>Strict-Transport-Security</c>, sent only when the service terminates TLS; <see cref="TimeSpan.Zero"/> sends none; <see langword="null"/> takes the preset's.</summary>
    /// <value>The default value is <see langword="null"/> (Low and Medium 180 days; High and Maximum 365 days with <c>includeSubDomains</c>).</value>
    public TimeSpan? HstsMaxAge { get; set; }

    /// <summary>The preset of <see cref="SecurityLevel"/> with this instance's overrides and switches applied.</summary>
    /// <returns>The policy HttpCage renders.</returns>
    public HttpCagePolicy Resolve()
    {
        var preset = HttpCagePolicy.Preset(SecurityLevel);
        var rate = RequestsPerSecond ?? preset.RequestsPerSecond;
        return preset with
        {
            RateLimiting = RateLimiting,
            DdosProtection = DdosProtection,
            RequestsPerSecond = rate,
            Burst = Burst ?? (RequestsPerSecond is null ? preset.Burst : 2 * rate),
            ConnectionsPerClient = ConnectionsPerClient ?? preset.ConnectionsPerClient,
            MaxBodySize = MaxBodySize ?? preset.MaxBodySize,
            AllowedMethods = AllowedMethods is null ? preset.AllowedMethods : [.. AllowedMethods],
            ClientHeaderTimeout = ClientHeaderTimeout ?? preset.ClientHeaderTimeout,
            ClientBodyTimeout = ClientBodyTimeout ?? preset.ClientBodyTimeout,
            SendTimeout = SendTimeout ?? preset.SendTimeout,
            KeepaliveTimeout = KeepaliveTimeout ?? preset.KeepaliveTimeout,
            RejectStatusCode = RejectStatusCode ?? preset.RejectStatusCode,
            FrameOptions = FrameOptions ?? preset.FrameOptions,
            ContentSecurityPolicy = ContentSecurityPolicy ?? preset.ContentSecurityPolicy,
            ReferrerPolicy = ReferrerPolicy ?? preset.ReferrerPolicy,
            HstsMaxAge = HstsMaxAge ?? preset.HstsMaxAge,
        };
    }
}

/// <summary>The HttpCage settings in force for a service: a preset with a host's overrides (<see cref="HttpCageOptions.Resolve"/>).</summary>
/// <param name="SecurityLevel">The preset it started from.</param>
/// <param name="RateLimiting">Whether the request rate is limited (<c>limit_req</c>).</param>
/// <param name="DdosProtection">Whether connections are limited (<c>limit_conn</c>) and the slow-client timeouts apply.</param>
/// <param name="RequestsPerSecond">The average requests per second per client.</param>
/// <param name="Burst">The requests above the rate served at once before refusing.</param>
/// <param name="ConnectionsPerClient">The open connections per client.</param>
/// <param name="MaxBodySize">The largest request body in bytes.</param>
/// <param name="AllowedMethods">The HTTP methods served.</param>
/// <param name="ClientHeaderTimeout">The time allowed for the request headers.</param>
/// <param name="ClientBodyTimeout">The longest pause while reading the request body.</param>
/// <param name="SendTimeout">The longest pause while writing the response.</param>
/// <param name="KeepaliveTimeout">How long an idle client connection stays open.</param>
/// <param name="RejectStatusCode">The status of a refused request.</param>
/// <param name="FrameOptions">The <c>X-Frame-Options</c> header, empty for none.</param>
/// <param name="ContentSecurityPolicy">The <c>Content-Security-Policy</c> header, empty for none.</param>
/// <param name="ReferrerPolicy">The <c>Referrer-Policy</c> header, empty for none.</param>
/// <param name="HstsMaxAge">The HSTS <c>max-age</c> (sent only with TLS), zero for none.</param>
/// <param name="HstsIncludeSubDomains">Whether HSTS covers subdomains.</param>
public sealed record HttpCagePolicy(
    HttpCageSecurityLevel SecurityLevel,
    bool RateLimiting,
    bool DdosProtection,
    int RequestsPerSecond,
    int Burst,
    int ConnectionsPerClient,
    long MaxBodySize,
    IReadOnlyList<string> AllowedMethods,
    TimeSpan ClientHeaderTimeout,
    TimeSpan ClientBodyTimeout,
    TimeSpan SendTimeout,
    TimeSpan KeepaliveTimeout,
    int RejectStatusCode,
    string FrameOptions,
    string ContentSecurityPolicy,
    string ReferrerPolicy,
    TimeSpan HstsMaxAge,
    bool HstsIncludeSubDomains)
{
    private static readonly string[] AllMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

    /// <summary>The preset of a security level, with rate limiting and DDoS protection on.</summary>
    /// <param name="level">The level.</param>
    /// <returns>The preset.</returns>
    public static HttpCagePolicy Preset(HttpCageSecurityLevel level) => level switch
    {
        HttpCageSecurityLevel.Low => new(level, true, true, 100, 200, 100, 100L << 20, AllMethods, Seconds(60), Seconds(60), Seconds(60), Seconds(75), 429, "SAMEORIGIN", "", "strict-origin-when-cross-origin", TimeSpan.FromDays(180), false),
        HttpCageSecurityLevel.Medium => new(level, true, true, 50, 100, 50, 10L << 20, AllMethods, Seconds(30), Seconds(30), Seconds(30), Seconds(30), 429, "SAMEORIGIN", "", "strict-origin-when-cross-origin", TimeSpan.FromDays(180), false),
        HttpCageSecurityLevel.High => new(level, true, true, 20, 40, 20, 1L << 20, AllMethods[..^1], Seconds(10), Seconds(10), Seconds(10), Seconds(15), 429, "DENY", "default-src 'self'; frame-ancestors 'none'", "no-referrer", TimeSpan.FromDays(365), true),
        HttpCageSecurityLevel.Maximum => new(level, true, true, 10, 20, 10, 256L << 10, AllMethods[..3], Seconds(5), Seconds(5), Seconds(5), Seconds(5), 429, "DENY", "default-src 'none'; frame-ancestors 'none'", "no-referrer", TimeSpan.FromDays(365), true),
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, "Use Low, Medium, High or Maximum."),
    };

    private static TimeSpan Seconds(int seconds) => TimeSpan.FromSeconds(seconds);
}
