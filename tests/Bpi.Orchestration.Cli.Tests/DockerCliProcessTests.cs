using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using Docker.DotNet.NativeHttp;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>
/// The CLI on containers as a user runs it: every command is the built <c>bpi-orchestration.dll</c> started with
/// <c>dotnet</c> (a new process each time, so nothing the test process loaded helps it), over one state directory, on the
/// real engine, with images pulled from the local registry with the credentials of a Docker config in the process's
/// HOME. Exit codes and output are asserted, and the engine is checked by the deployment's labels afterwards.
/// </summary>
public sealed class DockerCliProcessTests : IAsyncLifetime
{
    private readonly CliSandbox _cli = new();
    private readonly List<string> _deployments = [];
    private DockerClient? _docker;
    private string _registry = "";
    private string _repository = "";

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Skips (or fails, when required) without an engine or a registry; pushes the images and writes the Docker config.</summary>
    private async Task SetUpAsync()
    {
        await DockerTestEnvironment.RequireEngineAsync();
        DockerTestEnvironment.RequirePrerequisite(TestImages.MissingPrerequisite);
        _registry = RegistryTestEnvironment.Require();
        Assert.True(File.Exists(CliSandbox.CliDll), CliSandbox.CliDll);
        await DockerRuntimeCliTests.BuildTestImagesAsync();
        using var api = DockerDemoTests.DockerApi.Create();
        var version = (await api.GetAsync("/version")).GetProperty("ApiVersion").GetString()!;
        var endpoint = Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host : "unix:///var/run/docker.sock";
        _docker = new DockerClientBuilder().WithEndpoint(new Uri(endpoint)).WithApiVersion(System.Version.Parse(version)).WithTransportOptions(new NativeHttpTransportOptions()).Build();

        // Two tags of the test image in a new repository of the registry; the local names are removed, so the CLI pulls.
        _repository = $"{_registry}/docker-s11/web-{Guid.NewGuid():N}"[..(_registry.Length + 26)];
        var auth = new AuthConfig { Username = RegistryTestEnvironment.User, Password = RegistryTestEnvironment.Password, ServerAddress = _registry };
        foreach (var tag in new[] { "v1", "v2" })
        {
            await _docker.Images.TagImageAsync(TestImages.Plain, new ImageTagParameters { RepositoryName = _repository, Tag = tag });
            var errors = new List<string>();
            await _docker.Images.PushImageAsync(_repository, new ImagePushParameters { Tag = tag }, auth, new SyncProgress(m => { if (m.Error is { } e) { errors.Add(e.Message ?? "error"); } }));
            Assert.Empty(errors);
            await RemoveImageAsync($"{_repository}:{tag}");
        }

        var home = Directory.CreateDirectory(Path.Combine(_cli.StateDir + "-home", ".docker")).FullName;
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes(RegistryTestEnvironment.User + ":" + RegistryTestEnvironment.Password));
        await File.WriteAllTextAsync(Path.Combine(home, "config.json"), $$"""{ "auths": { "{{_registry}}": { "auth": "{{basic}}" } } }""");
    }

    public async Task DisposeAsync()
    {
        foreach (var id in _deployments)
        {
            await RunAsync("destroy", "-d", id, "--force");
        }

        if (_docker is not null && _repository.Length > 0)
        {
            foreach (var tag in new[] { "v1", "v2" })
            {
                await RemoveImageAsync($"{_repository}:{tag}");
            }
        }

        _docker?.Dispose();
        _cli.Dispose();
    }

    [SkippableFact]
    public async Task A_registry_image_is_deployed_updated_with_a_canary_a_failing_canary_rolled_back_rolled_back_by_hand_and_destroyed_by_separate_processes_leaving_nothing()
    {
        await SetUpAsync();
        var v1 = Config("v1", "v1", canary: false);
        var v2 = Config("v2", "v2", canary: true);
        var broken = Config("v2", "v3", canary: true, failHealth: true);

        // deploy: the image is absent, so the runtime pulls it with the Docker config's credentials, and the CLI prints it.
        var deploy = await RunAsync("deploy", "--config", v1, "-o", "json");
        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        var id = deploy.Json.GetProperty("id").GetString()!;
        _deployments.Add(id);
        Assert.Equal(("Running", 1), (deploy.Json.GetProperty("state").GetString(), deploy.Json.GetProperty("stableRevision").GetInt32()));
        Assert.Contains($"pull {_repository}:v1: pulling from {_registry} (not present)", deploy.Error, StringComparison.Ordinal);
        Assert.Contains($"pull {_repository}:v1: Digest: sha256:", deploy.Error, StringComparison.Ordinal);
        Assert.Matches($@"pull {System.Text.RegularExpressions.Regex.Escape(_repository)}:v1: done in \d+\.\d s", deploy.Error);
        Assert.Equal(["1", "1"], await RevisionsAsync(id));

        // update with a canary: revision 2 pulled, 50% of the traffic, a pause, then all of it.
        var update = await RunAsync("update", "-d", id, "--config", v2, "-o", "json");
        Assert.True(update.ExitCode == ExitCodes.Success, update.ToString());
        Assert.Equal(("Running", 2), (update.Json.GetProperty("state").GetString(), update.Json.GetProperty("stableRevision").GetInt32()));
        Assert.Contains($"pull {_repository}:v2: pulling from {_registry}", update.Error, StringComparison.Ordinal);
        Assert.Contains("revision 1 50%, revision 2 50%", update.Error, StringComparison.Ordinal);
        Assert.Equal(["2", "2"], await RevisionsAsync(id));

        // status and list in fresh processes read the stored canary record and the containers from the engine.
        var status = await RunAsync("status", "-d", id, "-o", "json");
        Assert.True(status.ExitCode == ExitCodes.Success, status.ToString());
        Assert.Equal(("Running", 2, "canary"), (status.Json.GetProperty("state").GetString(), status.Json.GetProperty("stableRevision").GetInt32(), status.Json.GetProperty("strategy").GetString()));
        var list = await RunAsync("list-deployments");
        Assert.True(list.ExitCode == ExitCodes.Success, list.ToString());
        Assert.Contains(id, list.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("skipped", list.Error, StringComparison.Ordinal);

        // A canary whose instances fail their health check: the documented exit code 5, and revision 2 keeps serving.
        var failing = await RunAsync("update", "-d", id, "--config", broken, "-o", "json");
        Assert.True(failing.ExitCode == ExitCodes.RolledBack, failing.ToString());
        Assert.Equal(("RolledBack", 2), (failing.Json.GetProperty("state").GetString(), failing.Json.GetProperty("stableRevision").GetInt32()));
        Assert.Contains("answered 500", failing.Json.GetProperty("message").GetString() ?? "", StringComparison.Ordinal);
        Assert.Equal(["2", "2"], await RevisionsAsync(id));

        // rollback by hand to revision 1's spec (as revision 4): the v1 image runs again.
        var rollback = await RunAsync("rollback", "-d", id, "--to-revision", "1", "-o", "json");
        Assert.True(rollback.ExitCode == ExitCodes.Success, rollback.ToString());
        Assert.Equal(("Running", 4), (rollback.Json.GetProperty("state").GetString(), rollback.Json.GetProperty("stableRevision").GetInt32()));
        Assert.Equal(["4", "4"], await RevisionsAsync(id));
        Assert.All(await ContainersAsync(id), c => Assert.Equal($"{_repository}:v1", c.Image));

        var destroy = await RunAsync("destroy", "-d", id, "-o", "json");
        Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
        Assert.Equal("Destroyed", destroy.Json.GetProperty("state").GetString());
        Assert.Empty(await ContainersAsync(id));
        Assert.Empty(await NetworksAsync(id));
        _deployments.Remove(id);
    }

    [SkippableFact]
    public async Task A_web_and_cache_compose_file_deploys_and_destroys_and_an_unsupported_key_exits_3_naming_its_path()
    {
        await SetUpAsync();
        var project = Directory.CreateDirectory(_cli.Dir("stack")).FullName;
        var compose = Path.Combine(project, "docker-compose.yml");
        await File.WriteAllTextAsync(compose, $$"""
            name: docker-s11-stack
            services:
              web:
                image: {{_repository}}:v1
                environment: { CACHE_HOST: cache }
                ports: ["{{TestImages.HttpPort}}"]
                healthcheck:
                  test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://cache:6379/health"]
                  interval: 1s
                depends_on:
                  cache: { condition: service_healthy }
                deploy: { resources: { limits: { cpus: "0.1", memory: 32M } } }
              cache:
                image: {{_repository}}:v1
                command: ["/bin/httpd", "-f", "-p", "6379", "-h", "/www"]
                healthcheck:
                  test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:6379/health"]
                  interval: 1s
                deploy: { resources: { limits: { cpus: "0.1", memory: 32M } } }
            """);
        var refusedFile = Path.Combine(project, "refused.yml");
        await File.WriteAllTextAsync(refusedFile, "name: docker-s11-refused\nservices:\n  web: { image: \"w:1\", privileged: true }\n");

        var refused = await RunAsync("deploy", "--compose", refusedFile);
        Assert.True(refused.ExitCode == ExitCodes.InvalidConfig, refused.ToString());
        Assert.Contains("services.web.privileged: ", refused.Error, StringComparison.Ordinal);

        var deploy = await RunAsync("deploy", "--compose", compose, "-o", "json");
        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        var id = deploy.Json.GetProperty("id").GetString()!;
        _deployments.Add(id);
        Assert.Equal("Running", deploy.Json.GetProperty("state").GetString());
        var containers = await ContainersAsync(id);
        Assert.Equal(["cache", "web"], containers.Select(c => c.Labels!["bpi.orchestration/component"]).Order(StringComparer.Ordinal));
        Assert.All(containers, c => Assert.Equal("running", c.State));

        var destroy = await RunAsync("destroy", "-d", id, "-o", "json");
        Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
        Assert.Empty(await ContainersAsync(id));
        Assert.Empty(await NetworksAsync(id));
        _deployments.Remove(id);
    }

    /// <summary>A deployment config of one component (2 replicas of the registry image <paramref name="tag"/>), with a short canary when asked.</summary>
    private string Config(string tag, string version, bool canary, bool failHealth = false) => _cli.WriteFile($"web-{version}.yaml", $$"""
        runtime: docker
        name: docker-s11-web
        appId: docker-s11-web
        components:
          - id: web
            image: {{_repository}}:{{tag}}
            replicas: 2
            ports: [{{TestImages.HttpPort}}]
            environment: { APP_VERSION: {{version}}{{(failHealth ? ", FAIL_HEALTH: \"1\"" : "")}} }
            resources: { cpuCores: 0.1, memoryMb: 32 }
            healthCheck: { path: /cgi-bin/health, period: 1s, timeout: 1s }
        {{(canary ? "strategy: { type: canary, steps: [{ setWeight: 50 }, { pause: 1s }] }" : "")}}
        validation: { pollInterval: 200ms, progressDeadline: {{(failHealth ? "8s" : "90s")}} }
        """);

    /// <summary>Runs the built CLI as its own process with the sandbox's state directory and HOME (its Docker config).</summary>
    private async Task<CliResult> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(CliSandbox.CliDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CI"] = "true";
        start.Environment["HOME"] = _cli.StateDir + "-home";
        start.Environment.Remove("DOCKER_CONFIG");
        start.Environment[CliEnvironment.StateDirVariable] = _cli.StateDir;
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new CliResult(process.ExitCode, await output, await error);
    }

    private async Task<IList<ContainerListResponse>> ContainersAsync(string deploymentId)
        => await _docker!.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = ByDeployment(deploymentId) });

    private async Task<IList<NetworkResponse>> NetworksAsync(string deploymentId)
        => await _docker!.Networks.ListNetworksAsync(new NetworksListParameters { Filters = ByDeployment(deploymentId) });

    /// <summary>The revision label of each of the deployment's running containers, in order.</summary>
    private async Task<List<string>> RevisionsAsync(string deploymentId)
        => [.. (await ContainersAsync(deploymentId)).Where(c => c.State == "running").Select(c => c.Labels!["bpi.orchestration/revision"]).Order(StringComparer.Ordinal)];

    private static Dictionary<string, IDictionary<string, bool>> ByDeployment(string deploymentId)
        => new() { ["label"] = new Dictionary<string, bool> { [$"bpi.orchestration/deployment={deploymentId}"] = true } };

    private async Task RemoveImageAsync(string image)
    {
        try
        {
            await _docker!.Images.DeleteImageAsync(image, new ImageDeleteParameters());
        }
        catch (DockerImageNotFoundException)
        {
        }
    }

    private sealed class SyncProgress(Action<JSONMessage> report) : IProgress<JSONMessage>
    {
        public void Report(JSONMessage value) => report(value);
    }
}
