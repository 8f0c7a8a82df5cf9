namespace Bpi.Orchestration.Nginx;

/// <summary>Options of CueNginx, the traffic router on nginx (<see cref="CueNginxRouter"/>).</summary>
/// <remarks>
/// Each service gets the settings of its entry in <see cref="Services"/> (keyed by <see cref="Traffic.TrafficRoute.ServiceId"/>),
/// or <see cref="DefaultService"/> when it has none; an entry replaces the defaults as a whole.
/// </remarks>
public sealed class CueNginxOptions
{
    /// <summary>The nginx executable: a path, or a name looked up on <c>PATH</c>.</summary>
    /// <value>The default value is <see langword="null"/>: <c>nginx</c> on <c>PATH</c>, else <c>/usr/sbin/nginx</c>.</value>
    public string? NginxPath { get; set; }

    /// <summary>
    /// nginx's prefix and CueNginx's state: the rendered config, the pid file, logs, temporary files, the control socket
    /// and the routes in force (<c>cue-nginx.json</c>), which a restarted orchestrator reads to adopt the running nginx.
    /// One orchestrator at a time uses a directory (it holds a lock file).
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <c>{temp}/bpi-orchestration/{VmId}/nginx</c> with dependency injection (set a stable <see cref="OrchestrationOptions.VmId"/> so a restarted orchestrator finds its nginx), <c>{temp}/bpi-orchestration/cue-nginx</c> without.</value>
    public string? StateDirectory { get; set; }

    /// <summary>The address every service listens on.</summary>
    /// <value>The default value is <c>127.0.0.1</c> (loopback only).</value>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>nginx's <c>worker_processes</c>; 0 for one per CPU core (<c>auto</c>).</summary>
    /// <value>The default value is 0 (<c>auto</c>). Weights stay exact with several workers: each upstream keeps its state in shared memory (<c>zone</c>).</value>
    public int WorkerProcesses { get; set; }

    /// <summary>nginx's <c>worker_connections</c>: the open connections (client and upstream) each worker may hold.</summary>
    /// <value>The default value is 4096.</value>
    public int WorkerConnections { get; set; } = 4096;

    /// <summary>
    /// How long old workers may keep serving open connections after a reload or a graceful stop (<c>worker_shutdown_timeout</c>);
    /// <see langword="null"/> lets them finish however long they take, as the <see cref="Traffic.ITrafficRouter"/> contract promises.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? WorkerShutdownTimeout { get; set; }

    /// <summary>How long one nginx command (<c>nginx -t</c>, the start) may take.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a reload may take until new workers serve the new config and old ones stopped accepting connections.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan ReloadTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a graceful stop (<c>SIGQUIT</c>: open requests finish) may take before nginx is terminated.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether <see cref="CueNginxRouter.DisposeAsync"/> stops nginx. When <see langword="false"/>, nginx keeps serving
    /// after the orchestrator exits and the next orchestrator on the same <see cref="StateDirectory"/> adopts it.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool StopOnDispose { get; set; }

    /// <summary>Whether nginx writes an access log (<c>logs/access.log</c> under <see cref="StateDirectory"/>; CueNginx does not rotate it).</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool AccessLog { get; set; }

    /// <summary>The settings of services without an entry in <see cref="Services"/>.</summary>
    /// <value>The default value is a service with round robin, no TLS, no gzip and no HttpCage.</value>
    public NginxServiceOptions DefaultService { get; set; } = new();

    /// <summary>The settings of individual services, by service id (<see cref="Traffic.TrafficRoute.ForComponent"/>); each replaces <see cref="DefaultService"/> as a whole.</summary>
    /// <value>The default value is empty.</value>
    public IDictionary<string, NginxServiceOptions> Services { get; } = new Dictionary<string, NginxServiceOptions>(StringComparer.Ordinal);

    /// <summary>The settings of one service: <see cref="Services"/>'s entry, else <see cref="DefaultService"/>.</summary>
    /// <param name="serviceId">The service.</param>
    /// <returns>The settings.</returns>
    public NginxServiceOptions ForService(string serviceId) => Services.TryGetValue(serviceId, out var service) ? service : DefaultService;
}

/// <summary>How nginx picks the backend of each request (the upstream's balancing method).</summary>
public enum NginxLoadBalancing
{
    /// <summary>Smooth weighted round robin (nginx's default): deterministic shares of requests.</summary>
    RoundRobin = 0,

    /// <summary>The backend with the fewest active connections relative to its weight (<c>least_conn</c>).</summary>
    LeastConnections,

    /// <summary>Each client address sticks to one backend (<c>ip_hash</c>); backends of weight 0 are marked <c>down</c> so the other clients keep theirs.</summary>
    IpHash,
}

/// <summary>The nginx settings of one service: balancing, passive health, TLS, compression and HTTP protection.</summary>
public sealed class NginxServiceOptions
{
    /// <summary>How requests are spread over the backends.</summary>
    /// <value>The default value is <see cref="NginxLoadBalancing.RoundRobin"/>.</value>
    public NginxLoadBalancing LoadBalancing { get; set; }

    /// <summary>Passive health: failed attempts within <see cref="FailTimeout"/> after which a backend is skipped for <see cref="FailTimeout"/> (<c>max_fails</c>); 0 never skips.</summary>
    /// <value>The default value is 1.</value>
    public int MaxFails { get; set; } = 1;

    /// <summary>Passive health: the window for <see cref="MaxFails"/> and how long a failed backend is skipped (<c>fail_timeout</c>), in whole seconds.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan FailTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long connecting to a backend may take before the next one is tried (<c>proxy_connect_timeout</c>).</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long nginx waits between two reads of a backend's response (<c>proxy_read_timeout</c>).</summary>
    /// <value>The default value is 60 seconds.</value>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Whether the upstream keeps its balancing and passive-health state in shared memory (<c>zone</c>), so all workers
    /// follow one weighted sequence and share failure counts. Without it each worker balances on its own: each is still
    /// exact over its own requests, and a worker takes a lock less per request.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool SharedUpstreamState { get; set; } = true;

    /// <summary>Idle connections to backends each worker keeps open for reuse (<c>keepalive</c>); 0 closes each after its request.</summary>
    /// <value>The default value is 32.</value>
    public int UpstreamKeepalive { get; set; } = 32;

    /// <summary>TLS termination; <see langword="null"/> serves plain HTTP.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public NginxTlsOptions? Tls { get; set; }

    /// <summary>Whether responses of <see cref="GzipTypes"/> are gzip-compressed for clients that accept it.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool Gzip { get; set; }

    /// <summary>The content types compressed when <see cref="Gzip"/> is on (<c>text/html</c> always is).</summary>
    /// <value>The default value is <c>text/plain</c>, <c>text/css</c>, <c>text/xml</c>, <c>application/json</c>, <c>application/javascript</c>, <c>application/xml</c>, <c>image/svg+xml</c>.</value>
    public IList<string> GzipTypes { get; set; } = ["text/plain", "text/css", "text/xml", "application/json", "application/javascript", "application/xml", "image/svg+xml"];

    /// <summary>Responses shorter than this are not compressed (<c>gzip_min_length</c>), in bytes.</summary>
    /// <value>The default value is 256.</value>
    public int GzipMinLength { get; set; } = 256;

    /// <summary>HTTP protection in front of the service (HttpCage); <see langword="null"/> for none.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public HttpCageOptions? HttpCage { get; set; }

    /// <summary>
    /// Extra nginx directives for the service's <c>location /</c>, one per item, each ending with <c>;</c> (for example
    /// <c>proxy_buffering off;</c>). Checked by <c>nginx -t</c> like everything else: a directive nginx rejects is never applied.
    /// </summary>
    /// <value>The default value is empty.</value>
    public IList<string> ExtraLocationDirectives { get; set; } = [];
}

/// <summary>TLS termination of a service: nginx serves HTTPS on the service's port with this certificate.</summary>
public sealed class NginxTlsOptions
{
    /// <summary>The PEM certificate (chain) file (<c>ssl_certificate</c>).</summary>
    /// <value>The default value is empty (required).</value>
    public string CertificatePath { get; set; } = "";

    /// <summary>The PEM private key file (<c>ssl_certificate_key</c>); read by nginx's master process only.</summary>
    /// <value>The default value is empty (required).</value>
    public string KeyPath { get; set; } = "";

    /// <summary>The TLS protocol versions accepted (<c>ssl_protocols</c>).</summary>
    /// <value>The default value is <c>TLSv1.2</c> and <c>TLSv1.3</c>.</value>
    public IList<string> Protocols { get; set; } = ["TLSv1.2", "TLSv1.3"];
}
