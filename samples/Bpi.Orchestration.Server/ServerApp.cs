using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Security.Authorization;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Server;

/// <summary>Builds the server: settings read and validated, the orchestrator composed from them, the endpoints mapped.</summary>
internal static class ServerApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var options = ReadOptions(builder.Configuration);
        var state = options.StatePath;
        Directory.CreateDirectory(state);
        var stateLock = StateLock.Take(state);
        builder.Services.AddSingleton(stateLock);
        var keys = ApiKeyRing.Create(options, state);
        builder.Services.AddSingleton(keys);

        builder.Services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddOpenApi();

        var signer = LoadOrCreateSigner(options.AuditSigningKeyPath, options.VmId);
        // The keys /audit/verify trusts: this server's signer (the one every server on a shared database uses).
        builder.Services.AddSingleton(new CheckpointVerifier([signer.VerifierKey], options.VmId));
        var orchestration = builder.Services.AddOrchestration(o => o.VmId = options.VmId);
        ServerState.Add(orchestration, options, state, signer);
        AddRuntime(orchestration, options, state);
        orchestration
            .AddStrategies()
            .AddSecurity()
            .ConfigureAuthorization(o => ConfigurePolicy(o, options))
            .AddOrchestrationApi(o => o.MaxRequestBodyBytes = options.MaxRequestBodyBytes);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOrchestrationApi(options.ApiPrefix).RequireAuthorization();
        app.MapOrchestrationHealthChecks();
        app.MapOpenApi();
        if (options.Dashboard)
        {
            app.MapOrchestrationDashboard(options.DashboardPath, options.ApiPrefix);
        }

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Bpi.Orchestration.Server");
        app.Lifetime.ApplicationStarted.Register(() => Log.Started(
            log,
            string.Join(", ", app.Urls),
            options.Runtime,
            options.State,
            state,
            keys.GeneratedKeyFile ?? "the configured Server:ApiKeys"));
        app.Lifetime.ApplicationStopped.Register(stateLock.Dispose);
        return app;
    }

    /// <summary>Binds the <c>Server</c> section (an unknown key is an error) and lists every problem at once.</summary>
    public static ServerOptions ReadOptions(IConfiguration configuration)
    {
        ServerOptions options;
        try
        {
            options = configuration.GetSection(ServerOptions.Section).Get<ServerOptions>(o => o.ErrorOnUnknownConfiguration = true) ?? new ServerOptions();
        }
        catch (InvalidOperationException ex)
        {
            throw new ServerConfigurationException([ex.Message]);
        }

        if (string.IsNullOrWhiteSpace(options.PostgreSqlConnectionString))
        {
            options.PostgreSqlConnectionString = configuration.GetConnectionString("Orchestration");
        }

        var problems = options.Validate();
        return problems.Count > 0 ? throw new ServerConfigurationException(problems) : options;
    }

    private static void AddRuntime(IOrchestrationBuilder orchestration, ServerOptions options, string state)
    {
        if (ServerOptions.IsOneOf(options.Runtime, "Docker"))
        {
            orchestration.AddDocker(o =>
            {
                if (!string.IsNullOrWhiteSpace(options.DockerHost))
                {
                    o.Host = options.DockerHost;
                }
            }).AddInProcessRouter();
        }
        else if (ServerOptions.IsOneOf(options.Runtime, "InMemory"))
        {
            orchestration.AddInMemoryRuntime().AddInMemoryTrafficRouter();
        }
        else
        {
            orchestration.AddProcessRuntime(o => o.StateDirectory = Path.Combine(state, "processes")).AddInProcessRouter();
        }
    }

    private static void ConfigurePolicy(Bpi.Orchestration.Security.Authorization.AuthorizationOptions authorization, ServerOptions options)
    {
        if (options.PolicyFile is { Length: > 0 } file)
        {
            var text = File.ReadAllText(file);
            if (file.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                authorization.PolicyJson.Add(text);
            }
            else
            {
                authorization.PolicyTexts.Add(text);
            }

            return;
        }

        foreach (var (name, subject, verbs) in ServerOptions.DefaultRules)
        {
            authorization.Rules.Add(verbs.Length == 0
                ? new AuthorizationRule { Name = name, Subjects = [subject] }
                : new AuthorizationRule { Name = name, Subjects = [subject], Verbs = verbs });
        }
    }

    /// <summary>
    /// The audit trail's checkpoint signing key (owner-only PEM), created on first start. Servers sharing a database may
    /// start together: the first to create the file wins and the others read it.
    /// </summary>
    private static CheckpointSigner LoadOrCreateSigner(string file, string name)
    {
        try
        {
            if (!File.Exists(file))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                var created = CheckpointSigner.Generate(name);
                if (ServerFiles.TryCreateSecret(file, created.ExportPrivateKeyPem()))
                {
                    return created;
                }
            }

            return CheckpointSigner.FromPem(name, File.ReadAllText(file));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            throw new ServerConfigurationException([$"{ServerOptions.Section}:AuditSigningKeyFile: '{file}' cannot be read or created as a PEM signing key ({ex.Message}); point it at a readable PKCS#8 PEM key, or at a path the server may create."]);
        }
    }
}

/// <summary>One server per state directory: an exclusive lock on <c>server.lock</c>, held while the server runs.</summary>
internal sealed class StateLock : IDisposable
{
    private readonly FileStream _file;

    private StateLock(FileStream file) => _file = file;

    public static StateLock Take(string state)
    {
        var path = Path.Combine(state, "server.lock");
        try
        {
            return new StateLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException ex)
        {
            throw new ServerConfigurationException([$"{ServerOptions.Section}:StateDirectory: '{state}' is in use by another server ({ex.Message}); give each server its own state directory."]);
        }
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>The server's log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Orchestration server on {Urls}: runtime {Runtime}, state {State} (local files in {StateDirectory}); API key in {KeySource}.")]
    public static partial void Started(ILogger logger, string urls, string runtime, string state, string stateDirectory, string keySource);
}
