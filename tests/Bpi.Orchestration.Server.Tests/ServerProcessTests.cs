using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Bpi.Orchestration.Server.Tests;

public sealed class ServerProcessTests
{
    [Fact]
    public async Task With_no_settings_the_server_deploys_the_seeds_body_over_HTTP_reads_its_status_destroys_it_and_stops_cleanly()
    {
        using var home = new TempDirectory("bpi-server-tests");
        // Nothing configured but where "the user's state directory" is: the default state directory, the process runtime.
        await using var server = ServerProcess.Start(home.Path, new Dictionary<string, string> { ["XDG_STATE_HOME"] = home.Path, ["Server__StateDirectory"] = "" });
        await server.WaitUntilReadyAsync();
        var state = Path.Combine(home.Path, "bpi-orchestration-server");
        var key = (await File.ReadAllTextAsync(Path.Combine(state, "api-key"))).Trim();
        using var anonymous = new HttpClient { BaseAddress = server.Address };
        using var client = new HttpClient { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

        using (var refused = await anonymous.GetAsync("/api/v1/orchestration/deployments"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // The seed's deploy body as written in the seed, plus what it lacks: something to run.
        var body = JsonNode.Parse("""
            {
              "deployment_type": "docklock_container",
              "app_id": "web-app",
              "config": { "deployment_name": "web-service-001", "command": ["sleep", "600"] },
              "resource_requirements": { "cpu_cores": 1, "memory_mb": 256 },
              "security_config": { "encryption_level": "high", "access_control": "rbac" }
            }
            """)!;
        using var deploy = await client.PostAsync("/api/v1/orchestration/deploy", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var accepted = JsonNode.Parse(await deploy.Content.ReadAsStringAsync())!;
        Assert.True(deploy.StatusCode == HttpStatusCode.Accepted, $"deploy answered {(int)deploy.StatusCode}: {accepted}\n{server.Output}");
        var location = deploy.Headers.Location!.OriginalString;
        var id = accepted["deployment_id"]!.GetValue<string>();
        Assert.Equal($"/api/v1/orchestration/deployment/{id}", location);

        var running = await Eventually.UntilAsync(
            async () => JsonNode.Parse(await client.GetStringAsync(location))!,
            s => s["state"]!.GetValue<string>() == "running" && s["components"]![0]!["instances"]!.AsArray().Sum(i => i!["running"]!.GetValue<int>()) == 1,
            "the deployment runs one instance",
            TimeSpan.FromSeconds(60));
        Assert.Equal("web-service-001", running["name"]!.GetValue<string>());
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(state, "deployments"))); // the file store in the default state directory

        using var list = await client.GetAsync("/api/v1/orchestration/deployments");
        Assert.Contains(id, await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var destroy = await client.DeleteAsync(location);
        var destroyed = JsonNode.Parse(await destroy.Content.ReadAsStringAsync())!;
        Assert.True(destroy.StatusCode == HttpStatusCode.OK, $"destroy answered {(int)destroy.StatusCode}: {destroyed}");
        Assert.Equal("destroyed", destroyed["state"]!.GetValue<string>());
        Assert.DoesNotContain(destroyed["components"]![0]!["instances"]!.AsArray(), i => i!["total"]!.GetValue<int>() > 0);

        Assert.Equal(0, await server.StopAsync());
        Assert.DoesNotContain("fail:", server.Output, StringComparison.Ordinal);
        Assert.Contains("Orchestrator bpi-server stopped", server.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task With_Runtime_Docker_the_seeds_body_with_an_image_runs_as_a_container_until_destroyed()
    {
        await DockerTestEnvironment.RequireEngineAsync();
        DockerTestEnvironment.RequirePrerequisite(TestImages.MissingPrerequisite);
        DockerTestEnvironment.RequirePrerequisite((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "docker")))
            ? null
            : "the docker command line is missing (it imports the test images); install Debian's docker.io");
        await TestImages.BuildAsync(DockerImportAsync);
        using var home = new TempDirectory("bpi-server-tests");
        var vmId = "server-test-" + Guid.NewGuid().ToString("N")[..8];
        await using var server = ServerProcess.Start(home.Path, new Dictionary<string, string> { ["Server__Runtime"] = "Docker", ["Server__VmId"] = vmId });
        await server.WaitUntilReadyAsync();
        using var client = new HttpClient { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(Path.Combine(home.Path, "api-key"))).Trim());
        var body = $$"""
            {
              "deployment_type": "docklock_container",
              "app_id": "web-app",
              "config": { "deployment_name": "web-docker", "image": "{{TestImages.Plain}}", "ports": [{{TestImages.HttpPort}}] },
              "resource_requirements": { "cpu_cores": 0.5, "memory_mb": 128 },
              "security_config": { "encryption_level": "high", "access_control": "rbac" }
            }
            """;

        using var deploy = await client.PostAsync("/api/v1/orchestration/deploy", new StringContent(body, Encoding.UTF8, "application/json"));
        var accepted = await deploy.Content.ReadAsStringAsync();
        Assert.True(deploy.StatusCode == HttpStatusCode.Accepted, $"deploy answered {(int)deploy.StatusCode}: {accepted}\n{server.Output}");
        var location = deploy.Headers.Location!.OriginalString;
        await Eventually.UntilAsync(
            async () => JsonNode.Parse(await client.GetStringAsync(location))!,
            s => s["state"]!.GetValue<string>() is "running" or "failed" or "rolled_back",
            "the deployment settles",
            TimeSpan.FromSeconds(120));
        var running = JsonNode.Parse(await client.GetStringAsync(location))!;
        Assert.True(running["state"]!.GetValue<string>() == "running", running.ToJsonString());
        Assert.Equal(1, running["components"]![0]!["instances"]!.AsArray().Sum(i => i!["running"]!.GetValue<int>()));
        Assert.Contains(vmId, await DockerAsync("ps", "--format", "{{.Labels}}"), StringComparison.Ordinal);

        using var destroy = await client.DeleteAsync(location);
        Assert.Equal(HttpStatusCode.OK, destroy.StatusCode);
        Assert.Equal(0, await server.StopAsync());
        Assert.DoesNotContain(vmId, await DockerAsync("ps", "-a", "--format", "{{.Labels}}"), StringComparison.Ordinal);
    }

    private static async Task DockerImportAsync(Stream tar, string repository, string tag, IReadOnlyList<string> changes)
    {
        var arguments = new List<string> { "import" };
        foreach (var change in changes)
        {
            arguments.Add("--change");
            arguments.Add(change);
        }

        arguments.Add("-");
        arguments.Add($"{repository}:{tag}");
        await DockerAsync([.. arguments], tar);
    }

    private static async Task<string> DockerAsync(params string[] arguments) => await DockerAsync(arguments, null);

    private static async Task<string> DockerAsync(string[] arguments, Stream? input)
    {
        var start = new System.Diagnostics.ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input is not null };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await input.CopyToAsync(process.StandardInput.BaseStream);
            process.StandardInput.Close();
        }

        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"docker {string.Join(' ', arguments)} exited {process.ExitCode}: {await error}");
        return await output;
    }

    [Fact]
    public async Task Invalid_settings_stop_the_server_at_start_listing_every_problem_by_its_key()
    {
        using var home = new TempDirectory("bpi-server-tests");
        await using var server = ServerProcess.Start(home.Path, new Dictionary<string, string>
        {
            ["Server__Runtime"] = "Teleport",
            ["Server__MaxRequestBodyBytes"] = "1",
            ["Server__ApiPrefix"] = "api",
        });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("Server:Runtime: 'Teleport' is not a runtime", server.Output, StringComparison.Ordinal);
        Assert.Contains("Server:MaxRequestBodyBytes: 1 is outside", server.Output, StringComparison.Ordinal);
        Assert.Contains("Server:ApiPrefix: 'api' must start with '/'", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_setting_is_refused_naming_it()
    {
        using var home = new TempDirectory("bpi-server-tests");
        await using var server = ServerProcess.Start(home.Path, new Dictionary<string, string> { ["Server__Runtme"] = "Docker" });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("Runtme", server.Output, StringComparison.Ordinal);
    }
}
