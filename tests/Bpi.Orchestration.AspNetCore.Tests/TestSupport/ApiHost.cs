using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Security.Authorization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.AspNetCore.Tests.TestSupport;

/// <summary>
/// The API on a real Kestrel port (127.0.0.1:0) over the in-memory runtime and router, every strategy, an in-memory
/// audit store and the Security package with a policy: role <c>deployer</c> may do everything, role <c>viewer</c>
/// may read, role <c>system</c> may read (health checks), anyone else nothing. Requests authenticate with the test
/// scheme's headers (<see cref="As"/>).
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApiHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public IServiceProvider Services => _app.Services;

    public IOrchestrationVm Vm => _app.Services.GetRequiredService<IOrchestrationVm>();

    public static async Task<ApiHost> StartAsync(Action<IOrchestrationBuilder>? configure = null, Action<WebApplication>? map = null, Action<WebApplicationBuilder>? build = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication(TestAuthentication.SchemeName).AddScheme<AuthenticationSchemeOptions, TestAuthentication>(TestAuthentication.SchemeName, null);
        builder.Services.AddAuthorization();
        var orchestration = builder.Services.AddOrchestration(o => o.VmId = "api-tests")
            .AddInMemoryRuntime()
            .AddInMemoryTrafficRouter()
            .AddStrategies()
            .AddInMemoryAuditStore(o => o.CheckpointSigners.Add(Bpi.Orchestration.Audit.CheckpointSigner.Generate("api-tests")))
            .AddSecurity()
            .ConfigureAuthorization(o =>
            {
                o.Rules.Add(new AuthorizationRule { Name = "deployers", Subjects = ["role:deployer"] });
                o.Rules.Add(new AuthorizationRule { Name = "viewers", Subjects = ["role:viewer"], Verbs = ["read"] });
                o.Rules.Add(new AuthorizationRule { Name = "system-reads", Subjects = ["role:system"], Verbs = ["read"] });
            })
            .AddOrchestrationApi();
        configure?.Invoke(orchestration);
        build?.Invoke(builder);
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        if (map is null)
        {
            app.MapOrchestrationApi();
        }
        else
        {
            map(app);
        }

        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync(); // a host refused at start (invalid options) leaves nothing behind
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new ApiHost(app, new Uri(address));
    }

    /// <summary>A client authenticated as <paramref name="user"/> with <paramref name="roles"/>; no user: anonymous.</summary>
    public HttpClient As(string? user, params string[] roles)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(2) };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Add(TestAuthentication.UserHeader, user);
            client.DefaultRequestHeaders.Add(TestAuthentication.RolesHeader, string.Join(',', roles));
        }

        return client;
    }

    public HttpClient Deployer() => As("dana", "deployer");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// Authenticates a request from two headers: the user id and a comma-separated role list; or, as a browser page sends
/// it, <c>Authorization: Bearer user:role1,role2</c>.
/// </summary>
internal sealed class TestAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Test";
    public const string UserHeader = "X-Test-User";
    public const string RolesHeader = "X-Test-Roles";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string user;
        string roles;
        if (Request.Headers.TryGetValue(UserHeader, out var userHeader))
        {
            user = userHeader.ToString();
            roles = Request.Headers[RolesHeader].ToString();
        }
        else if (Request.Headers.Authorization.ToString() is { } bearer && bearer.StartsWith("Bearer ", StringComparison.Ordinal) && bearer[7..].Split(':', 2) is [var u, var r])
        {
            user = u;
            roles = r;
        }
        else
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, user) };
        claims.AddRange(roles.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r => new Claim(ClaimTypes.Role, r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }
}

/// <summary>Deployment documents and JSON helpers.</summary>
internal static class Documents
{
    /// <summary>A canary that sets 25 %, waits to be promoted, sets 50 %, then completes.</summary>
    public static JsonObject Canary(string name = "web", string image = "registry.local/web:1.0", int replicas = 2) => new()
    {
        ["name"] = name,
        ["appId"] = "shop",
        ["environment"] = "development",
        ["components"] = new JsonArray(new JsonObject { ["id"] = "web", ["image"] = image, ["replicas"] = replicas }),
        ["strategy"] = new JsonObject
        {
            ["type"] = "canary",
            ["steps"] = new JsonArray(new JsonObject { ["setWeight"] = 25 }, new JsonObject { ["pause"] = new JsonObject() }, new JsonObject { ["setWeight"] = 50 }),
        },
    };

    /// <summary>A recreate deployment that runs to Running at once on the in-memory runtime.</summary>
    public static JsonObject Simple(string name = "api", string image = "registry.local/api:1.0", int replicas = 1) => new()
    {
        ["name"] = name,
        ["appId"] = "shop",
        ["environment"] = "development",
        ["components"] = new JsonArray(new JsonObject { ["id"] = "api", ["image"] = image, ["replicas"] = replicas }),
    };

    public static StringContent Json(JsonNode node) => Json(node.ToJsonString());

    public static StringContent Json(string text) => new(text, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));

    public static async Task<JsonObject> ReadObjectAsync(this HttpResponseMessage response)
        => (JsonNode.Parse(await response.Content.ReadAsStringAsync()) as JsonObject) ?? throw new InvalidOperationException("not an object");

    public static async Task<string> DeployAsync(this HttpClient client, JsonNode document)
    {
        using var response = await client.PostAsync("/api/v1/orchestration/deploy", Json(document));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"deploy answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["deployment_id"]!.GetValue<string>();
    }
}
