using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Bpi.Orchestration.Server.Tests;

/// <summary>Two servers on one PostgreSQL database form one orchestrator: what one deploys, the other reads and audits.</summary>
public sealed class SharedStateTests
{
    private const string Key = "shared-state-test-key-0123456789";

    [SkippableFact]
    public async Task Two_servers_on_one_database_share_deployments_and_one_audit_chain_that_either_verifies()
    {
        await using var database = await PostgresTestEnvironment.CreateDatabaseAsync("server_shared");
        using var home = new TempDirectory("bpi-server-tests");
        var signingKey = Path.Combine(home.Path, "shared", "audit-signing-key.pem");
        Dictionary<string, string> Settings() => new()
        {
            ["Server__State"] = "PostgreSql",
            // The connection string through the standard key, the way a host's secrets usually provide it.
            ["ConnectionStrings__Orchestration"] = database.ConnectionString,
            ["Server__AuditSigningKeyFile"] = signingKey,
            ["Server__Runtime"] = "InMemory",
            ["Server__ApiKeys__0__Key"] = Key,
            ["Server__ApiKeys__0__User"] = "ci",
            ["Server__ApiKeys__0__Roles__0"] = "admin",
        };

        var stateA = Directory.CreateDirectory(Path.Combine(home.Path, "a")).FullName;
        var stateB = Directory.CreateDirectory(Path.Combine(home.Path, "b")).FullName;
        await using var a = ServerProcess.Start(stateA, Settings());
        await using var b = ServerProcess.Start(stateB, Settings());
        await a.WaitUntilReadyAsync();
        await b.WaitUntilReadyAsync();
        using var clientA = Client(a);
        using var clientB = Client(b);

        var body = JsonNode.Parse("""
            {
              "deployment_type": "docklock_container",
              "app_id": "web-app",
              "config": { "deployment_name": "shared-web", "image": "registry.local/web:1.0" },
              "resource_requirements": { "cpu_cores": 1, "memory_mb": 256 },
              "security_config": { "encryption_level": "high", "access_control": "rbac" }
            }
            """)!;
        using var deploy = await clientA.PostAsync("/api/v1/orchestration/deploy", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var accepted = JsonNode.Parse(await deploy.Content.ReadAsStringAsync())!;
        Assert.True(deploy.StatusCode == HttpStatusCode.Accepted, $"deploy on A answered {(int)deploy.StatusCode}: {accepted}\n{a.Output}");
        var id = accepted["deployment_id"]!.GetValue<string>();

        // B never saw the request: it reads A's deployment from the shared store, up to Running.
        var seenByB = await Eventually.UntilAsync(
            async () =>
            {
                using var response = await clientB.GetAsync($"/api/v1/orchestration/deployment/{id}");
                return response.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
            },
            s => s?["state"]?.GetValue<string>() == "running",
            "B reads A's deployment as running",
            TimeSpan.FromSeconds(60));
        Assert.Equal("shared-web", seenByB!["name"]!.GetValue<string>());
        Assert.Contains(id, await clientB.GetStringAsync("/api/v1/orchestration/deployments"), StringComparison.Ordinal);

        // One audit chain: A's verification counts its own entries; B's, made after, covers at least those (B refreshes
        // the shared chain first) and checks the checkpoints' signatures with the shared key.
        var verifiedByA = JsonNode.Parse(await clientA.GetStringAsync("/api/v1/audit/verify"))!;
        Assert.True(verifiedByA["valid"]!.GetValue<bool>(), verifiedByA.ToJsonString());
        var entriesOfA = verifiedByA["entries_verified"]!.GetValue<long>();
        Assert.True(entriesOfA > 0, verifiedByA.ToJsonString());

        var verifiedByB = JsonNode.Parse(await clientB.GetStringAsync("/api/v1/audit/verify"))!;
        Assert.True(verifiedByB["valid"]!.GetValue<bool>(), verifiedByB.ToJsonString() + "\n" + b.Output);
        Assert.True(verifiedByB["signatures_checked"]!.GetValue<bool>(), verifiedByB.ToJsonString());
        Assert.True(verifiedByB["entries_verified"]!.GetValue<long>() >= entriesOfA, $"B verified {verifiedByB["entries_verified"]} entries, A had {entriesOfA}");

        Assert.Equal(0, await b.StopAsync());
        Assert.Equal(0, await a.StopAsync());
        Assert.DoesNotContain("fail:", a.Output + b.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(stateA, "deployments")), "with State PostgreSql no file store is written");
    }

    [Fact]
    public async Task PostgreSql_state_without_a_connection_string_or_a_signing_key_stops_the_server_naming_both_keys()
    {
        using var home = new TempDirectory("bpi-server-tests");
        await using var server = ServerProcess.Start(home.Path, new Dictionary<string, string> { ["Server__State"] = "PostgreSql" });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("Server:PostgreSqlConnectionString: required with State PostgreSql; set it, or ConnectionStrings:Orchestration", server.Output, StringComparison.Ordinal);
        Assert.Contains("Server:AuditSigningKeyFile: required with State PostgreSql", server.Output, StringComparison.Ordinal);
    }

    private static HttpClient Client(ServerProcess server)
    {
        var client = new HttpClient { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        return client;
    }
}
