namespace Bpi.Orchestration.Server;

/// <summary>The server's settings: the <c>Server</c> section of <c>appsettings.json</c> (or any configuration source).</summary>
internal sealed class ServerOptions
{
    public const string Section = "Server";

    /// <summary>The orchestrator's id: the owner label of its instances and the origin of its audit trail.</summary>
    public string VmId { get; set; } = "bpi-server";

    /// <summary>Where deployments, the audit trail, process state and the generated API key live; empty: <see cref="DefaultStateDirectory"/>.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>Where deployment records are kept: <c>File</c> (in the state directory) or <c>PostgreSql</c>.</summary>
    public string State { get; set; } = "File";

    /// <summary>The PostgreSQL connection string, for <c>State: PostgreSql</c>; empty: <c>ConnectionStrings:Orchestration</c>.</summary>
    public string? PostgreSqlConnectionString { get; set; }

    /// <summary>
    /// The audit trail's checkpoint signing key (PKCS#8 PEM), created owner-only when missing; empty:
    /// <c>audit-signing-key.pem</c> in the state directory. Servers sharing a PostgreSQL database sign one audit chain,
    /// so they must name the same key (required with <c>State: PostgreSql</c>).
    /// </summary>
    public string? AuditSigningKeyFile { get; set; }

    /// <summary>What runs the instances: <c>Process</c> (local processes), <c>Docker</c>, or <c>InMemory</c> (nothing runs: demos, load tests).</summary>
    public string Runtime { get; set; } = "Process";

    /// <summary>The Docker engine's address for <c>Runtime: Docker</c>; empty: <c>DOCKER_HOST</c> or the local socket.</summary>
    public string? DockerHost { get; set; }

    /// <summary>The path the API is mapped under.</summary>
    public string ApiPrefix { get; set; } = "/api/v1";

    /// <summary>Whether the dashboard page is served at <see cref="DashboardPath"/>.</summary>
    public bool Dashboard { get; set; } = true;

    /// <summary>The dashboard's path.</summary>
    public string DashboardPath { get; set; } = "/dashboard";

    /// <summary>The largest request body the API reads.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The API keys; none: one key for role <c>admin</c> is generated into <c>api-key</c> in the state directory.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>An authorization policy file (text, or JSON when it ends in <c>.json</c>); none: <see cref="DefaultRules"/>.</summary>
    public string? PolicyFile { get; set; }

    /// <summary>The rules used without a policy file: role <c>admin</c> may do everything, <c>viewer</c> and <c>system</c> (the health checks) may read.</summary>
    public static readonly (string Name, string Subject, string[] Verbs)[] DefaultRules =
    [
        ("admins", "role:admin", []),
        ("viewers", "role:viewer", ["read"]),
        ("system-reads", "role:system", ["read"]),
    ];

    /// <summary>The default state directory: <c>$XDG_STATE_HOME/bpi-orchestration-server</c>, else <c>~/.local/state/bpi-orchestration-server</c>.</summary>
    public static string DefaultStateDirectory
        => Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg
            ? Path.Combine(xdg, "bpi-orchestration-server")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state", "bpi-orchestration-server");

    /// <summary>The audit signing key file in use.</summary>
    public string AuditSigningKeyPath => string.IsNullOrWhiteSpace(AuditSigningKeyFile) ? Path.Combine(StatePath, "audit-signing-key.pem") : Path.GetFullPath(AuditSigningKeyFile);

    /// <summary>The state directory in use.</summary>
    public string StatePath => Path.GetFullPath(string.IsNullOrWhiteSpace(StateDirectory) ? DefaultStateDirectory : StateDirectory);

    /// <summary>Every problem of these settings, named by their configuration keys.</summary>
    public List<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(VmId) || VmId.Length > 63 || !VmId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            problems.Add($"{Section}:VmId: '{VmId}' must be 1–63 letters, digits, '-', '_' or '.'.");
        }

        if (!IsOneOf(State, "File", "PostgreSql"))
        {
            problems.Add($"{Section}:State: '{State}' is not a state store; use File or PostgreSql.");
        }
        else if (IsOneOf(State, "PostgreSql"))
        {
            if (string.IsNullOrWhiteSpace(PostgreSqlConnectionString))
            {
                problems.Add($"{Section}:PostgreSqlConnectionString: required with State PostgreSql; set it, or ConnectionStrings:Orchestration, to the Npgsql connection string of the database the servers share.");
            }

            if (string.IsNullOrWhiteSpace(AuditSigningKeyFile))
            {
                problems.Add($"{Section}:AuditSigningKeyFile: required with State PostgreSql; every server on the database signs the one audit chain, so give them the path of the same PEM key (created when missing).");
            }
        }

        if (!IsOneOf(Runtime, "Process", "Docker", "InMemory"))
        {
            problems.Add($"{Section}:Runtime: '{Runtime}' is not a runtime; use Process, Docker or InMemory.");
        }

        if (string.IsNullOrWhiteSpace(ApiPrefix) || !ApiPrefix.StartsWith('/'))
        {
            problems.Add($"{Section}:ApiPrefix: '{ApiPrefix}' must start with '/'.");
        }

        if (Dashboard && (string.IsNullOrWhiteSpace(DashboardPath) || !DashboardPath.StartsWith('/')))
        {
            problems.Add($"{Section}:DashboardPath: '{DashboardPath}' must start with '/'.");
        }

        if (MaxRequestBodyBytes is < 1024 or > 64L * 1024 * 1024)
        {
            problems.Add($"{Section}:MaxRequestBodyBytes: {MaxRequestBodyBytes} is outside 1024..67108864.");
        }

        for (var i = 0; i < ApiKeys.Count; i++)
        {
            var key = ApiKeys[i];
            if (string.IsNullOrEmpty(key.Key) || key.Key.Length < 16)
            {
                problems.Add($"{Section}:ApiKeys:{i}:Key: at least 16 characters.");
            }

            if (string.IsNullOrWhiteSpace(key.User))
            {
                problems.Add($"{Section}:ApiKeys:{i}:User: required.");
            }
        }

        if (ApiKeys.Select(k => k.Key).Where(k => !string.IsNullOrEmpty(k)).GroupBy(k => k, StringComparer.Ordinal).Any(g => g.Count() > 1))
        {
            problems.Add($"{Section}:ApiKeys: the same key is given twice.");
        }

        if (PolicyFile is { Length: > 0 } policy && !File.Exists(policy))
        {
            problems.Add($"{Section}:PolicyFile: '{policy}' does not exist.");
        }

        return problems;
    }

    public static bool IsOneOf(string? value, params string[] names) => names.Any(n => string.Equals(n, value, StringComparison.OrdinalIgnoreCase));
}

/// <summary>One API key: who presents it and with which roles.</summary>
internal sealed class ApiKeyOptions
{
    public string Key { get; set; } = "";

    public string User { get; set; } = "";

    public List<string> Roles { get; set; } = [];
}
