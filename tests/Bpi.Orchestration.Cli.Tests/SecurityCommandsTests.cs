using System.Text.Json;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary><c>security scan | compliance-report | remediate</c>, the gate on <c>deploy</c>, and the authorization policy.</summary>
public sealed class SecurityCommandsTests : IDisposable
{
    /// <summary>A container spec with nothing relaxed: passes the gate of its environment.</summary>
    private const string GoodYaml = """
        name: web
        appId: shop
        environment: staging
        components:
          - id: web
            image: registry.example.com/shop/web:2.1.0
            replicas: 2
            ports: [8080]
            resources: { cpuCores: 0.5, memoryMb: 128 }
            healthCheck: { path: /health }
            runtimeSettings: { docker.restartPolicy: "on-failure:5" }
        """;

    /// <summary>A container spec that relaxes the DockLock defaults, in production: refused by its gate.</summary>
    private const string BadYaml = """
        name: web
        appId: shop
        environment: production
        components:
          - id: web
            image: nginx:latest
            replicas: 2
            ports: [8080]
            environment: { API_KEY: "hunter2", SAMPLE_VERSION: "1" }
            runtimeSettings:
              docklock.noNewPrivileges: "false"
              docklock.capAdd: "SYS_ADMIN"
              docklock.readOnlyRootFilesystem: "false"
        """;

    private readonly CliSandbox _cli = new();

    public void Dispose()
    {
        var left = ProcFs.KillAllIn(_cli.StateDir);
        _cli.Dispose();
        Assert.True(left.Count == 0, $"processes were left running (now killed): {string.Join(", ", left)}");
    }

    /// <summary>SampleService on local processes, one replica, recreate: quick to deploy and destroy.</summary>
    private string ProcessConfig(string environment = "staging", string extraEnvironment = "") => _cli.WriteFile($"svc-{environment}.yaml", $$"""
        name: svc
        appId: shop
        environment: {{environment}}
        components:
          - id: web
            command: {{CliSandbox.SampleServiceDll}}
            replicas: 1
            ports: [8080]
            environment: { SAMPLE_VERSION: "1.0.0"{{extraEnvironment}} }
            healthCheck: { path: /health, period: 300ms }
        validation: { pollInterval: 100ms, progressDeadline: 90s }
        """);

    [Fact]
    public async Task Scan_of_a_good_config_exits_0_and_of_a_bad_one_exits_4_with_the_findings()
    {
        var good = await _cli.RunAsync("security", "scan", "--config", _cli.WriteFile("good.yaml", GoodYaml), "--output", "json");
        var bad = await _cli.RunAsync("security", "scan", "--config", _cli.WriteFile("bad.yaml", BadYaml), "--output", "json");
        var badText = await _cli.RunAsync("security", "scan", "--config", _cli.Dir("bad.yaml"));

        Assert.True(good.ExitCode == ExitCodes.Success, good.ToString());
        AssertScanShape(good.Json);
        Assert.True(good.Json.GetProperty("gate").GetProperty("passed").GetBoolean());
        Assert.Equal("staging", good.Json.GetProperty("environment").GetString());
        Assert.Empty(good.Json.GetProperty("gate").GetProperty("reasons").EnumerateArray());

        Assert.True(bad.ExitCode == ExitCodes.SecurityRefused, bad.ToString());
        AssertScanShape(bad.Json);
        Assert.False(bad.Json.GetProperty("gate").GetProperty("passed").GetBoolean());
        Assert.NotEmpty(bad.Json.GetProperty("gate").GetProperty("reasons").EnumerateArray());
        var ids = bad.Json.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("id").GetString()).ToList();
        Assert.Contains("BPI-SEC-003", ids); // SYS_ADMIN
        Assert.Contains("BPI-SEC-021", ids); // API_KEY in plain environment
        Assert.Contains("BPI-SEC-025", ids); // latest
        Assert.True(bad.Json.GetProperty("score").GetDouble() < good.Json.GetProperty("score").GetDouble());

        Assert.Equal(ExitCodes.SecurityRefused, badText.ExitCode);
        Assert.Contains("BPI-SEC-003", badText.Output, StringComparison.Ordinal);
        Assert.Contains("Dangerous capability added", badText.Output, StringComparison.Ordinal);
        Assert.Contains("refused", badText.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", badText.Output + bad.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_cli.StateDir, "deployments")), "scanning a file needs no orchestrator");
    }

    [Fact]
    public async Task Security_commands_need_exactly_one_target_and_known_check_ids_and_a_missing_config_is_exit_3()
    {
        var none = await _cli.RunAsync("security", "scan");
        var both = await _cli.RunAsync("security", "scan", "--config", "x.yaml", "--deployment-id", "d");
        var missing = await _cli.RunAsync("security", "scan", "--config", _cli.Dir("missing.yaml"));
        var unknownCheck = await _cli.RunAsync("security", "remediate", "--config", "x.yaml", "--accept", "BPI-SEC-009,BPI-SEC-999");
        var fileWithoutConfig = await _cli.RunAsync("security", "remediate", "--deployment-id", "d", "--file", "x.yaml");
        var applyWithoutDeployment = await _cli.RunAsync("security", "remediate", "--config", "x.yaml", "--apply");

        Assert.Equal(ExitCodes.UsageError, none.ExitCode);
        Assert.Contains("exactly one of --config", none.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.UsageError, both.ExitCode);
        Assert.Equal(ExitCodes.InvalidConfig, missing.ExitCode);
        Assert.Equal(ExitCodes.UsageError, unknownCheck.ExitCode);
        Assert.Contains("'BPI-SEC-999' is not a check id", unknownCheck.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("BPI-SEC-009'", unknownCheck.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.UsageError, fileWithoutConfig.ExitCode);
        Assert.Equal(ExitCodes.UsageError, applyWithoutDeployment.ExitCode);
        Assert.False(Directory.Exists(_cli.StateDir), "a usage error touches no state");
    }

    [Theory]
    [InlineData("json")]
    [InlineData("markdown")]
    [InlineData("html")]
    public async Task Compliance_report_writes_each_format_to_a_file_and_to_stdout(string format)
    {
        var config = _cli.WriteFile("bad.yaml", BadYaml);
        var file = _cli.Dir($"report.{format}");

        var written = await _cli.RunAsync("security", "compliance-report", "--framework", "soc2", "--config", config, "--format", format, "--file", file, "--output", "json");
        var printed = await _cli.RunAsync("security", "compliance-report", "--framework", "SOC2", "--config", config, "--format", format);

        Assert.True(written.ExitCode == ExitCodes.Success, written.ToString());
        Assert.Equal("soc2", written.Json.GetProperty("framework").GetString());
        Assert.Equal(Path.GetFullPath(file), written.Json.GetProperty("file").GetString());
        Assert.True(written.Json.GetProperty("evidenceFailed").GetInt32() > 0);
        var report = await File.ReadAllTextAsync(file);
        Assert.Equal(ExitCodes.Success, printed.ExitCode);
        switch (format)
        {
            case "json":
                var json = JsonDocument.Parse(report).RootElement;
                Assert.Equal("soc2", json.GetProperty("frameworkId").GetString());
                Assert.True(json.GetProperty("controls").GetArrayLength() > 0);
                Assert.Equal("soc2", JsonDocument.Parse(printed.Output).RootElement.GetProperty("frameworkId").GetString());
                break;
            case "markdown":
                Assert.StartsWith("# Compliance evidence", report, StringComparison.Ordinal);
                Assert.StartsWith("# Compliance evidence", printed.Output, StringComparison.Ordinal);
                break;
            default:
                Assert.Contains("<html", report, StringComparison.OrdinalIgnoreCase);
                Assert.Contains("<html", printed.Output, StringComparison.OrdinalIgnoreCase);
                break;
        }

        Assert.Contains("BPI-SEC-021", report, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compliance_report_of_an_unknown_framework_is_a_usage_error_listing_the_known_ones()
    {
        var result = await _cli.RunAsync("security", "compliance-report", "--framework", "fedramp", "--config", _cli.WriteFile("good.yaml", GoodYaml));
        var json = await _cli.RunAsync("security", "compliance-report", "--framework", "fedramp", "--config", _cli.Dir("good.yaml"), "-o", "json");
        var markdownAsJson = await _cli.RunAsync("security", "compliance-report", "--framework", "soc2", "--config", _cli.Dir("good.yaml"), "--format", "markdown", "-o", "json");

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains("'fedramp'", result.Error, StringComparison.Ordinal);
        foreach (var known in new[] { "soc2", "iso27001-2022", "pci-dss-4.0", "hipaa", "gdpr", "cis-docker", "nist-800-190", "nist-800-53" })
        {
            Assert.Contains(known, result.Error, StringComparison.Ordinal);
        }

        Assert.Equal("", result.Output);
        Assert.Equal(("UsageError", 2), (json.Json.GetProperty("kind").GetString(), json.Json.GetProperty("exitCode").GetInt32()));
        Assert.Equal(ExitCodes.UsageError, markdownAsJson.ExitCode);
    }

    [Theory]
    [InlineData("hardened.yaml")]
    [InlineData("hardened.json")]
    public async Task Remediate_writes_a_hardened_config_whose_rescan_scores_higher(string name)
    {
        var config = _cli.WriteFile("bad.yaml", BadYaml);
        var hardened = _cli.Dir(name);

        var remediate = await _cli.RunAsync("security", "remediate", "--config", config, "--accept", "BPI-SEC-021,BPI-SEC-032", "--file", hardened, "--output", "json");
        var before = await _cli.RunAsync("security", "scan", "--config", config, "--output", "json");
        var after = await _cli.RunAsync("security", "scan", "--config", hardened, "--output", "json");

        Assert.True(remediate.ExitCode == ExitCodes.Success, remediate.ToString());
        Assert.True(remediate.Json.GetProperty("changed").GetBoolean());
        Assert.Equal(Path.GetFullPath(hardened), remediate.Json.GetProperty("file").GetString());
        var actions = remediate.Json.GetProperty("actions").EnumerateArray().ToList();
        Assert.Contains(actions, a => a.GetProperty("checkId").GetString() == "BPI-SEC-003" && a.GetProperty("kind").GetString() == "Applied");
        Assert.Contains(actions, a => a.GetProperty("checkId").GetString() == "BPI-SEC-026" && a.GetProperty("kind").GetString() == "Proposed" && a.GetProperty("risk").GetString() is { Length: > 0 });
        Assert.True(after.ExitCode is ExitCodes.Success or ExitCodes.SecurityRefused, after.ToString());
        Assert.True(after.Json.GetProperty("score").GetDouble() > before.Json.GetProperty("score").GetDouble(), $"{before.Output}\n{after.Output}");
        Assert.Equal(remediate.Json.GetProperty("after").GetProperty("score").GetDouble(), after.Json.GetProperty("score").GetDouble());
        var afterIds = after.Json.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("id").GetString()).ToList();
        Assert.DoesNotContain("BPI-SEC-003", afterIds);
        Assert.DoesNotContain("BPI-SEC-021", afterIds);
        Assert.DoesNotContain("BPI-SEC-032", afterIds);
        Assert.Equal(BadYaml.Replace("\r", "", StringComparison.Ordinal), (await File.ReadAllTextAsync(config)).Replace("\r", "", StringComparison.Ordinal)); // the original is untouched
    }

    [Fact]
    public async Task Remediate_with_a_known_digest_and_every_proposal_accepted_makes_the_production_spec_pass_its_gate()
    {
        var config = _cli.WriteFile("bad.yaml", BadYaml);
        var hardened = _cli.Dir("hardened.yaml");
        var digest = "sha256:" + new string('a', 64);

        var remediate = await _cli.RunAsync("security", "remediate", "--config", config, "--image-digest", $"nginx:latest={digest}", "--accept", "BPI-SEC-021,BPI-SEC-032,BPI-SEC-025,BPI-SEC-026", "--file", hardened, "--output", "json");
        var scan = await _cli.RunAsync("security", "scan", "--config", hardened, "--output", "json");
        var malformed = await _cli.RunAsync("security", "remediate", "--config", config, "--image-digest", "nginx:latest=abc");

        Assert.True(remediate.ExitCode == ExitCodes.Success, remediate.ToString());
        Assert.False(remediate.Json.GetProperty("before").GetProperty("gate").GetProperty("passed").GetBoolean());
        Assert.True(remediate.Json.GetProperty("after").GetProperty("gate").GetProperty("passed").GetBoolean(), remediate.Output);
        Assert.Contains("@" + digest, await File.ReadAllTextAsync(hardened), StringComparison.Ordinal);
        Assert.True(scan.ExitCode == ExitCodes.Success, scan.ToString()); // production's gate: score >= 7, no high finding, encryption High, pinned
        Assert.Equal(ExitCodes.UsageError, malformed.ExitCode);
    }

    [Fact]
    public async Task Deploy_of_a_spec_the_environments_gate_refuses_exits_4_listing_the_findings_and_creates_nothing()
    {
        var config = ProcessConfig("production", ", API_KEY: \"hunter2\"");

        var text = await _cli.RunAsync("deploy", "--config", config);
        var json = await _cli.RunAsync("deploy", "--config", config, "--output", "json");
        var list = await _cli.RunAsync("list-deployments", "--output", "json");

        Assert.True(text.ExitCode == ExitCodes.SecurityRefused, text.ToString());
        Assert.Contains("security gate refused", text.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("BPI-SEC-021", text.Error, StringComparison.Ordinal); // secret-looking plain variable
        Assert.Contains("BPI-SEC-032", text.Error, StringComparison.Ordinal); // production requires encryption High
        Assert.DoesNotContain("hunter2", text.Error + text.Output, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.SecurityRefused, json.ExitCode);
        Assert.Equal(("SecurityValidationFailed", 4), (json.Json.GetProperty("kind").GetString(), json.Json.GetProperty("exitCode").GetInt32()));
        Assert.Contains(json.Json.GetProperty("problems").EnumerateArray(), p => p.GetString()!.StartsWith("BPI-SEC-021", StringComparison.Ordinal));
        Assert.Equal(0, list.Json.GetProperty("deployments").GetArrayLength());
        ProcFs.AssertNoneIn(_cli.StateDir);
    }

    [Fact]
    public async Task Update_to_a_spec_the_production_gate_refuses_exits_4_and_the_serving_revision_stays()
    {
        string? id = null;
        try
        {
            // Encryption High is what production demands of every deployment (BPI-SEC-032); a local process has no container checks.
            var good = _cli.WriteFile("prod.yaml", File.ReadAllText(ProcessConfig("production")) + "\nsecurity: { encryptionLevel: high }\n");
            var bad = _cli.WriteFile("prod-bad.yaml", File.ReadAllText(ProcessConfig("production", ", DB_PASSWORD: \"hunter2\"")) + "\nsecurity: { encryptionLevel: high }\n");
            var deploy = await _cli.RunAsync("deploy", "--config", good, "--output", "json");
            Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
            id = deploy.Json.GetProperty("id").GetString()!;

            var update = await _cli.RunAsync("update", "--deployment-id", id, "--config", bad, "--output", "json");
            var status = await _cli.RunAsync("status", "--deployment-id", id, "--output", "json");

            Assert.True(update.ExitCode == ExitCodes.SecurityRefused, update.ToString());
            Assert.Contains(update.Json.GetProperty("problems").EnumerateArray(), p => p.GetString()!.StartsWith("BPI-SEC-021", StringComparison.Ordinal));
            Assert.DoesNotContain("hunter2", update.Output + update.Error, StringComparison.Ordinal);
            Assert.Equal(("Running", 1), (status.Json.GetProperty("state").GetString(), status.Json.GetProperty("stableRevision").GetInt32()));
        }
        finally
        {
            if (id is not null)
            {
                await _cli.RunAsync("destroy", "--deployment-id", id, "--force");
            }
        }

        ProcFs.AssertNoneIn(_cli.StateDir);
    }

    [Fact]
    public async Task The_default_policy_lets_the_local_user_work_and_a_policy_file_that_denies_destroy_makes_destroy_exit_9()
    {
        string? id = null;
        try
        {
            // Built-in policy: the OS user deploys, scans the stored deployment, and is named in the audit trail.
            var deploy = await _cli.RunAsync("deploy", "--config", ProcessConfig(), "--output", "json");
            Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
            id = deploy.Json.GetProperty("id").GetString()!;

            var scan = await _cli.RunAsync("security", "scan", "--deployment-id", id, "--output", "json");
            Assert.True(scan.ExitCode == ExitCodes.Success, scan.ToString());
            AssertScanShape(scan.Json);
            Assert.Equal(id, scan.Json.GetProperty("deploymentId").GetString());

            var report = await _cli.RunAsync("security", "compliance-report", "--framework", "nist-800-190", "--deployment-id", id, "--format", "json");
            Assert.True(report.ExitCode == ExitCodes.Success, report.ToString());
            Assert.Equal(id, JsonDocument.Parse(report.Output).RootElement.GetProperty("deploymentId").GetString());

            // A policy file in the state directory replaces the built-in policy.
            var policy = Path.Combine(_cli.StateDir, "policy.txt");
            await File.WriteAllTextAsync(policy, """
                # everyone may do everything but destroy
                [everyone] allow * * * *
                [keep] deny * destroy * *
                """);
            var denied = await _cli.RunAsync("destroy", "--deployment-id", id, "--output", "json");
            Assert.True(denied.ExitCode == ExitCodes.Unauthorized, denied.ToString());
            Assert.Equal("Unauthorized", denied.Json.GetProperty("kind").GetString());
            Assert.Contains("rule keep", denied.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
            var status = await _cli.RunAsync("status", "--deployment-id", id, "--output", "json");
            Assert.Equal("Running", status.Json.GetProperty("state").GetString());

            // --policy wins over the state directory's file; a missing file is exit 6, a malformed one exit 3.
            var missing = await _cli.RunAsync("destroy", "--deployment-id", id, "--policy", _cli.Dir("nope.txt"));
            Assert.True(missing.ExitCode == ExitCodes.NotFound, missing.ToString());
            var malformed = await _cli.RunAsync("destroy", "--deployment-id", id, "--policy", _cli.WriteFile("bad-policy.txt", "allow * destroy *\n"));
            Assert.True(malformed.ExitCode == ExitCodes.InvalidConfig, malformed.ToString());
            Assert.Contains("bad-policy.txt:1", malformed.Error, StringComparison.Ordinal);
            var allowed = await _cli.RunAsync("destroy", "--deployment-id", id, "--policy", _cli.WriteFile("all.json", """{ "rules": [ { "name": "all", "effect": "allow", "subjects": ["*"], "verbs": ["*"] } ] }"""), "--output", "json");
            Assert.True(allowed.ExitCode == ExitCodes.Success, allowed.ToString());
            Assert.Equal("Destroyed", allowed.Json.GetProperty("state").GetString());
            id = null;

            var verify = await _cli.RunAsync("audit", "verify", "--output", "json");
            Assert.True(verify.Json.GetProperty("valid").GetBoolean(), verify.ToString());
            var export = _cli.Dir("audit.export");
            Assert.Equal(ExitCodes.Success, (await _cli.RunAsync("audit", "export", "--file", export)).ExitCode);
            var trail = System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(export));
            Assert.Contains("authorization.deploy", trail, StringComparison.Ordinal); // allowed, by the built-in rule
            Assert.Contains("local-user", trail, StringComparison.Ordinal);
            Assert.Contains("authorization.destroy", trail, StringComparison.Ordinal); // denied by `keep`, then allowed
            Assert.DoesNotContain("authorization.read", trail, StringComparison.Ordinal); // allowed reads are not audited
        }
        finally
        {
            if (id is not null)
            {
                await _cli.RunAsync("destroy", "--deployment-id", id, "--force", "--policy", _cli.WriteFile("cleanup.txt", "allow * * * *\n"));
            }
        }

        ProcFs.AssertNoneIn(_cli.StateDir);
    }

    [Theory]
    [InlineData("deploy-only.txt", "[deploy-only] allow * deploy * *\n")]
    [InlineData("deploy-only.json", """{"rules": [{"name": "deploy-only", "effect": "allow", "subjects": ["*"], "verbs": ["deploy"]}]}""")]
    public async Task A_policy_that_allows_deploy_but_not_read_refuses_the_deploy_before_creating_anything(string file, string policy)
    {
        var deploy = await _cli.RunAsync("deploy", "--config", ProcessConfig(), "--policy", _cli.WriteFile(file, policy), "--output", "json");

        Assert.True(deploy.ExitCode == ExitCodes.Unauthorized, deploy.ToString());
        Assert.Contains("may not read", deploy.Json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_cli.StateDir, "deployments")));
        ProcFs.AssertNoneIn(_cli.StateDir);
        var list = await _cli.RunAsync("list-deployments", "--output", "json");
        Assert.Equal(0, list.Json.GetProperty("deployments").GetArrayLength());
    }

    [Fact]
    public async Task Remediate_apply_rolls_the_hardened_spec_out_as_a_new_revision_with_its_own_audit_entry()
    {
        // An image makes the component a container for the checks; the process runtime runs its command.
        var config = _cli.WriteFile("relaxed.yaml", $$"""
            name: app
            appId: shop
            environment: staging
            components:
              - id: web
                image: shop/web:1.0.0
                command: {{CliSandbox.SampleServiceDll}}
                replicas: 1
                ports: [8080]
                healthCheck: { path: /health, period: 300ms }
                runtimeSettings: { docklock.noNewPrivileges: "false" }
            validation: { pollInterval: 100ms, progressDeadline: 90s }
            """);
        string? id = null;
        try
        {
            var deploy = await _cli.RunAsync("deploy", "--config", config, "--output", "json");
            Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
            id = deploy.Json.GetProperty("id").GetString()!;

            var apply = await _cli.RunAsync("security", "remediate", "--deployment-id", id, "--apply", "--output", "json");
            Assert.True(apply.ExitCode == ExitCodes.Success, apply.ToString());
            Assert.Equal(2, apply.Json.GetProperty("appliedRevision").GetInt32());
            Assert.Equal(("Running", 2), (apply.Json.GetProperty("deployment").GetProperty("state").GetString(), apply.Json.GetProperty("deployment").GetProperty("stableRevision").GetInt32()));
            Assert.True(apply.Json.GetProperty("after").GetProperty("score").GetDouble() > apply.Json.GetProperty("before").GetProperty("score").GetDouble());

            var scan = await _cli.RunAsync("security", "scan", "--deployment-id", id, "--output", "json");
            Assert.DoesNotContain(scan.Json.GetProperty("findings").EnumerateArray(), f => f.GetProperty("id").GetString() == "BPI-SEC-010");

            var again = await _cli.RunAsync("security", "remediate", "--deployment-id", id, "--apply", "--output", "json");
            Assert.True(again.ExitCode == ExitCodes.Success, again.ToString());
            Assert.False(again.Json.GetProperty("changed").GetBoolean());
            Assert.Equal(JsonValueKind.Null, again.Json.GetProperty("appliedRevision").ValueKind);

            var export = _cli.Dir("audit.export");
            var exported = await _cli.RunAsync("audit", "export", "--file", export);
            Assert.True(exported.ExitCode == ExitCodes.Success, exported.ToString());
            Assert.Contains("security.remediation", await File.ReadAllTextAsync(export), StringComparison.Ordinal);
        }
        finally
        {
            if (id is not null)
            {
                await _cli.RunAsync("destroy", "--deployment-id", id, "--force");
            }
        }

        ProcFs.AssertNoneIn(_cli.StateDir);
    }

    private static void AssertScanShape(JsonElement scan)
    {
        foreach (var field in new[] { "target", "deploymentId", "environment", "source", "assessedAt", "catalogVersion", "score", "grade", "gate", "checks", "findings" })
        {
            Assert.True(scan.TryGetProperty(field, out _), $"missing {field}: {scan}");
        }

        Assert.InRange(scan.GetProperty("score").GetDouble(), 0, 10);
        Assert.Contains(scan.GetProperty("gate").GetProperty("passed").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
        foreach (var count in new[] { "passed", "failed", "notApplicable" })
        {
            Assert.Equal(JsonValueKind.Number, scan.GetProperty("checks").GetProperty(count).ValueKind);
        }

        foreach (var finding in scan.GetProperty("findings").EnumerateArray())
        {
            foreach (var field in new[] { "id", "severity", "title", "subjects", "evidence", "remediation" })
            {
                Assert.True(finding.TryGetProperty(field, out _), $"finding without {field}: {finding}");
            }
        }
    }
}
