using Bpi.Orchestration.Cli.Config;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Rolling;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

public sealed class ConfigTests : IDisposable
{
    public const string ValidYaml = """
        name: web
        appId: shop
        environment: staging
        type: CueNginx
        components:
          - id: web
            command: [/bin/sh, -c, "sleep 1"]
            replicas: 3
            ports: [8080, { name: admin, containerPort: 9090 }]
            resources: { cpuCores: 0.5, memoryMb: 128 }
            environment: { SAMPLE_VERSION: "2.0.0", RETRIES: 3 }
            healthCheck: { path: /health, period: 500ms, timeout: 400ms, failureThreshold: 2 }
        strategy:
          type: canary
          steps:
            - setWeight: 20
            - pause: 30s
            - analysis:
                metrics:
                  - name: success-rate
                    metric: successRate
                    path: /work
                    requests: 40
                    successCondition: { min: 0.95 }
            - setWeight: 50
            - pause: {}
        validation: { pollInterval: 200ms, progressDeadline: 2m }
        rollback: { historyLimit: 5 }
        labels: { team: payments }
        """;

    public const string ValidJson = """
        {
          "name": "web", "appId": "shop", "environment": "staging", "type": "CueNginx",
          "components": [{
            "id": "web", "command": ["/bin/sh", "-c", "sleep 1"], "replicas": 3,
            "ports": [8080, { "name": "admin", "containerPort": 9090 }],
            "resources": { "cpuCores": 0.5, "memoryMb": 128 },
            "environment": { "SAMPLE_VERSION": "2.0.0", "RETRIES": 3 },
            "healthCheck": { "path": "/health", "period": "500ms", "timeout": "400ms", "failureThreshold": 2 }
          }],
          "strategy": {
            "type": "canary",
            "steps": [
              { "setWeight": 20 }, { "pause": "30s" },
              { "analysis": { "metrics": [{ "name": "success-rate", "metric": "successRate", "path": "/work", "requests": 40, "successCondition": { "min": 0.95 } }] } },
              { "setWeight": 50 }, { "pause": {} }
            ]
          },
          "validation": { "pollInterval": "200ms", "progressDeadline": "2m" },
          "rollback": { "historyLimit": 5 },
          "labels": { "team": "payments" }
        }
        """;

    private readonly CliSandbox _cli = new();

    public void Dispose()
    {
        var left = ProcFs.KillAllIn(_cli.StateDir);
        _cli.Dispose();
        Assert.True(left.Count == 0, $"processes were left running (now killed): {string.Join(", ", left)}");
    }

    [Fact]
    public void A_yaml_config_maps_to_the_spec_field_by_field()
    {
        var spec = DeploymentConfigLoader.Load(ValidYaml, json: false, "web.yaml", "/tmp", new ConfigOverrides());

        Assert.Equal(("web", "shop", "staging", DeploymentType.CueNginx), (spec.Name, spec.AppId, spec.Environment, spec.Type));
        var web = Assert.Single(spec.Components);
        Assert.Equal("/bin/sh", web.Command!.FileName);
        Assert.Equal(["-c", "sleep 1"], web.Command.Arguments);
        Assert.Equal(3, web.Replicas);
        Assert.Equal([8080, 9090], web.Ports.Select(p => p.ContainerPort));
        Assert.Equal("admin", web.Ports[1].Name);
        Assert.Equal((0.5, 128), (web.Resources.CpuCores, web.Resources.MemoryMb));
        Assert.Equal("3", web.Environment["RETRIES"]);
        Assert.Equal((TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(400), 2), (web.HealthCheck!.Period, web.HealthCheck.Timeout, web.HealthCheck.FailureThreshold));
        var canary = Assert.IsType<CanaryStrategySpec>(spec.Strategy);
        Assert.Collection(
            canary.Steps,
            s => Assert.Equal(20, Assert.IsType<CanaryStep.SetWeight>(s).Weight),
            s => Assert.Equal(TimeSpan.FromSeconds(30), Assert.IsType<CanaryStep.Pause>(s).Duration),
            s =>
            {
                var metric = Assert.Single(Assert.IsType<CanaryStep.Analyze>(s).Analysis.Metrics);
                var query = Assert.IsType<BuiltInMetricQuery>(metric.Query);
                Assert.Equal((BuiltInMetric.SuccessRate, "/work", 40, 0.95), (query.Metric, query.Path, query.Requests, metric.SuccessCondition!.Min));
            },
            s => Assert.Equal(50, Assert.IsType<CanaryStep.SetWeight>(s).Weight),
            s => Assert.Null(Assert.IsType<CanaryStep.Pause>(s).Duration));
        Assert.Equal((TimeSpan.FromMilliseconds(200), TimeSpan.FromMinutes(2)), (spec.Validation.PollInterval, spec.Validation.ProgressDeadline));
        Assert.Equal(5, spec.Rollback.HistoryLimit);
        Assert.Equal("payments", spec.Labels["team"]);
    }

    [Fact]
    public void The_same_config_in_json_gives_the_same_spec()
    {
        var fromYaml = DeploymentConfigLoader.Load(ValidYaml, json: false, "web.yaml", "/tmp", new ConfigOverrides());
        var fromJson = DeploymentConfigLoader.Load(ValidJson, json: true, "web.json", "/tmp", new ConfigOverrides());

        Assert.Equal(Normalize(fromYaml), Normalize(fromJson));
    }

    [Fact]
    public void Command_line_overrides_win_over_the_file()
    {
        var spec = DeploymentConfigLoader.Load(ValidYaml, json: false, "web.yaml", "/tmp", new ConfigOverrides { Name = "web-2", AppId = "store", Type = DeploymentType.HttpCage, Strategy = "rolling" });

        Assert.Equal(("web-2", "store", DeploymentType.HttpCage), (spec.Name, spec.AppId, spec.Type));
        Assert.IsType<RollingStrategySpec>(spec.Strategy);
    }

    [Fact]
    public void A_relative_dll_command_is_resolved_against_the_config_files_directory()
    {
        var spec = DeploymentConfigLoader.Load("name: a\nappId: b\ncomponents: [{ id: web, command: bin/app.dll }]", json: false, "a.yaml", "/srv/configs", new ConfigOverrides());

        Assert.Equal("/srv/configs/bin/app.dll", spec.Components[0].Command!.FileName);
    }

    [Fact]
    public void A_bad_config_lists_every_problem_with_its_path()
    {
        const string bad = """
            appId: Shop_1
            replcas: 3
            components:
              - id: web
                command: [/bin/true]
                replicas: many
                ports: [70000, { name: admin }]
                healthCheck: { period: soon }
              - image: shop/web:1
              - 42
            strategy:
              type: canary
              steps:
                - setWeight: 120
                - jump: 3
            """;

        var ex = Assert.Throws<OrchestrationException>(() => DeploymentConfigLoader.Load(bad, json: false, "bad.yaml", "/tmp", new ConfigOverrides()));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        string[] expected =
        [
            "name: is required.",
            "replcas: unknown field",
            "components[0].replicas: must be a whole number",
            "components[0].ports[0].containerPort: 70000 must be 1-65535.",
            "components[0].ports[1].containerPort: is required.",
            "components[0].healthCheck.period: must be a duration",
            "components[1].id: is required.",
            "components[2]: must be an object",
            "strategy.steps[0].setWeight: 120 must be 0-100.",
            "strategy.steps[1]: 'jump' is not a canary step",
            // The SDK's own checks run on what could be read: the app id is listed too, not hidden by the field errors.
            "appId: 'Shop_1' must be 1-63 lowercase letters",
        ];
        foreach (var problem in expected)
        {
            Assert.Contains(ex.Errors, e => e.StartsWith(problem, StringComparison.Ordinal));
        }

        Assert.Equal(expected.Length, ex.Errors.Count);
    }

    [Fact]
    public void A_structurally_sound_config_is_also_checked_by_the_sdk_and_every_problem_is_listed()
    {
        const string invalid = "name: Web_1\nappId: shop\ncomponents: [{ id: web }]";

        var ex = Assert.Throws<OrchestrationException>(() => DeploymentConfigLoader.Load(invalid, json: false, "x.yaml", "/tmp", new ConfigOverrides()));

        Assert.True(ex.Errors.Count >= 2, string.Join("\n", ex.Errors));
        Assert.Contains(ex.Errors, e => e.Contains("Web_1", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("image", StringComparison.OrdinalIgnoreCase) || e.Contains("command", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("name: [unclosed", false, "not valid YAML at line")]
    [InlineData("{ \"name\": ", true, "not valid JSON")]
    [InlineData("- just\n- a list", false, "must be an object")]
    public void A_syntax_error_names_where_it_is(string text, bool json, string fragment)
    {
        var ex = Assert.Throws<OrchestrationException>(() => DeploymentConfigLoader.Load(text, json, "x", "/tmp", new ConfigOverrides()));

        Assert.Contains(ex.Errors, e => e.Contains(fragment, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deploy_with_a_bad_config_exits_3_lists_the_problems_on_stderr_and_starts_nothing()
    {
        var config = _cli.WriteFile("bad.yaml", "name: web\nappId: shop\ncomponents: [{ id: web, replicas: -1 }]\nstrategy: { type: teleport }");

        var text = await _cli.RunAsync("deploy", "--config", config);
        var json = await _cli.RunAsync("deploy", "--config", config, "--output", "json");

        Assert.Equal(ExitCodes.InvalidConfig, text.ExitCode);
        Assert.Contains("components[0].replicas: -1 must be at least 0.", text.Error, StringComparison.Ordinal);
        Assert.Contains("strategy.type: 'teleport' is not a strategy", text.Error, StringComparison.Ordinal);
        Assert.Contains("components[0] (web): set an image or a command to run.", text.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.InvalidConfig, json.ExitCode);
        Assert.Equal("InvalidConfiguration", json.Json.GetProperty("kind").GetString());
        Assert.Equal(3, json.Json.GetProperty("problems").GetArrayLength());
        Assert.False(Directory.Exists(Path.Combine(_cli.StateDir, "deployments")), "nothing was deployed");
    }

    [Fact]
    public async Task Deploy_with_the_seeds_deploy_body_as_a_config_names_the_missing_image_or_command_by_the_seeds_fields()
    {
        var config = _cli.WriteFile("seed.json", """
            { "deployment_type": "docklock_container", "config": { "deployment_name": "payments" },
              "resource_requirements": { "cpu_cores": 2, "memory_mb": 1024 },
              "security_config": { "encryption_level": "high", "access_control": "rbac" }, "app_id": "payments-app" }
            """);

        var result = await _cli.RunAsync("deploy", "--config", config, "--output", "json");

        Assert.Equal(ExitCodes.InvalidConfig, result.ExitCode);
        var problem = Assert.Single(result.Json.GetProperty("problems").EnumerateArray());
        Assert.StartsWith("config.image or config.command: is required", problem.GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deploy_with_the_seeds_deploy_body_plus_a_command_as_a_config_runs_it_under_the_seeds_names()
    {
        var config = _cli.WriteFile("seed-command.json", """
            { "deployment_type": "docklock_container", "config": { "deployment_name": "payments", "command": ["/bin/sh", "-c", "sleep 600"] },
              "resource_requirements": { "cpu_cores": 0.5, "memory_mb": 128 },
              "security_config": { "encryption_level": "high", "access_control": "rbac" }, "app_id": "payments-app" }
            """);

        var deploy = await _cli.RunAsync("deploy", "--config", config, "--output", "json");

        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        var id = deploy.Json.GetProperty("id").GetString()!;
        var status = await _cli.RunAsync("status", "--deployment-id", id, "--output", "json");
        var destroy = await _cli.RunAsync("destroy", "--deployment-id", id);
        Assert.Equal(ExitCodes.Success, destroy.ExitCode);
        Assert.True(status.ExitCode == ExitCodes.Success, status.ToString());
        Assert.Equal("payments", status.Json.GetProperty("name").GetString());
        Assert.Equal("payments-app", status.Json.GetProperty("appId").GetString());
        Assert.Equal("Running", status.Json.GetProperty("state").GetString());
    }

    /// <summary><c>type: enc_cluster</c> selects the EncCluster manager the CLI registers on processes: a 3-member cluster deploys, runs and is destroyed.</summary>
    [Fact]
    public async Task A_three_member_enc_cluster_deploys_from_a_config_file_on_processes_and_is_destroyed()
    {
        var config = _cli.WriteFile("vault.yaml", $$"""
            name: vault
            appId: shop
            type: enc_cluster
            enc_cluster: { encryption_algorithm: aes256gcm, key_rotation_interval: 86400, cluster_size: 3 }
            components:
              - id: web
                command: {{CliSandbox.SampleServiceDll}}
                replicas: 3
                ports: [8080]
                healthCheck: { path: /health, period: 300ms }
            validation: { pollInterval: 100ms, progressDeadline: 90s }
            """);

        var deploy = await _cli.RunAsync("deploy", "--config", config, "--output", "json");

        Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
        var id = deploy.Json.GetProperty("id").GetString()!;
        Assert.Equal("Running", deploy.Json.GetProperty("state").GetString());
        Assert.Equal(3, ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count);
        var status = await _cli.RunAsync("status", "--deployment-id", id, "--output", "json");
        Assert.True(status.ExitCode == ExitCodes.Success, status.ToString());
        Assert.Equal("EncCluster", status.Json.GetProperty("type").GetString());

        var destroy = await _cli.RunAsync("destroy", "--deployment-id", id);

        Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
        await Eventually.UntilAsync(() => ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count == 0, $"every member of {id} to be gone");
    }

    [Fact]
    public async Task A_missing_config_file_exits_3()
    {
        var result = await _cli.RunAsync("deploy", "--config", "/nonexistent/web.yaml");

        Assert.Equal(ExitCodes.InvalidConfig, result.ExitCode);
        Assert.Contains("does not exist", result.Error, StringComparison.Ordinal);
    }

    private static string Normalize(DeploymentSpec spec)
        => System.Text.Json.JsonSerializer.Serialize(spec with { Strategy = new RecreateStrategySpec() }, Bpi.Orchestration.State.DeploymentJson.Options)
           + System.Text.Json.JsonSerializer.Serialize(spec.Strategy, Bpi.Orchestration.State.DeploymentJson.Options);
}
