using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>Each RunAsync is a new invocation: a new orchestrator, runtime and audit store over the same state directory.</summary>
public sealed class StateAcrossInvocationsTests : IDisposable
{
    private readonly CliSandbox _cli = new();

    public void Dispose()
    {
        var left = ProcFs.KillAllIn(_cli.StateDir);
        _cli.Dispose();
        Assert.True(left.Count == 0, $"processes were left running (now killed): {string.Join(", ", left)}");
    }

    private string Config(string version, string strategy = "recreate", string extra = "") => _cli.WriteFile($"web-{version}.yaml", $$"""
        name: web
        appId: shop
        components:
          - id: web
            command: {{CliSandbox.SampleServiceDll}}
            replicas: 2
            ports: [8080]
            environment: { SAMPLE_VERSION: "{{version}}" }
            healthCheck: { path: /health, period: 300ms }
        strategy: { type: {{strategy}}{{extra}} }
        validation: { pollInterval: 100ms, progressDeadline: 90s }
        """);

    [Fact]
    public async Task Status_list_update_and_destroy_in_new_invocations_see_what_deploy_left()
    {
        string? id = null;
        try
        {
            var deploy = await _cli.RunAsync("deploy", "--config", Config("1.0.0"), "--output", "json");
            Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
            id = deploy.Json.GetProperty("id").GetString()!;
            Assert.Equal("Running", deploy.Json.GetProperty("state").GetString());
            Assert.Contains("step ", deploy.Error, StringComparison.Ordinal); // progress lines go to stderr with --output json

            var status = await _cli.RunAsync("status", "--deployment-id", id, "--output", "json");
            Assert.True(status.ExitCode == ExitCodes.Success, status.ToString());
            AssertStatusShape(status.Json);
            Assert.Equal(("Running", 1, "store"), (status.Json.GetProperty("state").GetString(), status.Json.GetProperty("stableRevision").GetInt32(), status.Json.GetProperty("source").GetString()));
            var revision = status.Json.GetProperty("components")[0].GetProperty("revisions")[0];
            Assert.Equal((1, 2, 2), (revision.GetProperty("revision").GetInt32(), revision.GetProperty("instances").GetInt32(), revision.GetProperty("ready").GetInt32()));

            using (await new Hosting.StateDirectory(_cli.StateDir).TryLockAsync("deploy", TimeSpan.Zero, TimeProvider.System, CancellationToken.None))
            {
                // Another process runs the orchestrator: status still answers, from what it can read.
                var busy = await _cli.RunAsync("status", "--deployment-id", id, "--output", "json");
                Assert.True(busy.ExitCode == ExitCodes.Success, busy.ToString());
                Assert.Equal(("Running", "record"), (busy.Json.GetProperty("state").GetString(), busy.Json.GetProperty("source").GetString()));
            }

            var list = await _cli.RunAsync("list-deployments", "--filter", "running", "--output", "json");
            Assert.Equal(ExitCodes.Success, list.ExitCode);
            Assert.Equal(id, Assert.Single(list.Json.GetProperty("deployments").EnumerateArray()).GetProperty("id").GetString());
            Assert.Equal(1, list.Json.GetProperty("totals").GetProperty("Running").GetInt32());
            var table = await _cli.RunAsync("list-deployments", "--detailed");
            Assert.Contains(id, table.Output, StringComparison.Ordinal);
            Assert.Contains("Running", table.Output, StringComparison.Ordinal);

            var update = await _cli.RunAsync("update", "-d", id, "--config", Config("2.0.0", "rolling"));
            Assert.True(update.ExitCode == ExitCodes.Success, update.ToString());
            Assert.Contains("state    Deploying -> Running", update.Output, StringComparison.Ordinal);

            var rollback = await _cli.RunAsync("rollback", "-d", id, "--to-revision", "1", "-o", "json");
            Assert.True(rollback.ExitCode == ExitCodes.Success, rollback.ToString());
            Assert.Equal(3, rollback.Json.GetProperty("stableRevision").GetInt32());

            var audit = await _cli.RunAsync("audit", "verify", "--output", "json");
            Assert.True(audit.ExitCode == ExitCodes.Success, audit.ToString());
            Assert.True(audit.Json.GetProperty("valid").GetBoolean());
            Assert.True(audit.Json.GetProperty("signaturesChecked").GetBoolean());
            Assert.True(audit.Json.GetProperty("entriesVerified").GetInt64() > 10);

            var export = _cli.Dir("audit.export");
            var exported = await _cli.RunAsync("audit", "export", "--file", export);
            Assert.True(exported.ExitCode == ExitCodes.Success, exported.ToString());
            Assert.True(new FileInfo(export).Length > 0);

            var destroy = await _cli.RunAsync("destroy", "-d", id, "-o", "json");
            Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
            Assert.Equal("Destroyed", destroy.Json.GetProperty("state").GetString());
            id = null;
            ProcFs.AssertNoneIn(_cli.StateDir);
            var after = await _cli.RunAsync("list-deployments", "-o", "json");
            Assert.Empty(after.Json.GetProperty("deployments").EnumerateArray());
        }
        finally
        {
            if (id is not null)
            {
                await _cli.RunAsync("destroy", "-d", id, "--force");
            }
        }
    }

    [Fact]
    public async Task A_canary_left_waiting_for_promotion_is_promoted_by_a_later_invocation()
    {
        string? id = null;
        try
        {
            var deploy = await _cli.RunAsync("deploy", "--config", Config("1.0.0"), "-o", "json");
            Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
            id = deploy.Json.GetProperty("id").GetString()!;

            var update = await _cli.RunAsync("update", "-d", id, "--config", Config("2.0.0", "canary", ", steps: [{ setWeight: 50 }, { pause: {} }]"), "-o", "json");
            Assert.True(update.ExitCode == ExitCodes.Success, update.ToString());
            Assert.Equal("Paused", update.Json.GetProperty("state").GetString());
            Assert.Equal(2, update.Json.GetProperty("targetRevision").GetInt32());

            var waiting = await _cli.RunAsync("status", "-d", id, "-o", "json");
            Assert.Equal(2, waiting.Json.GetProperty("targetRevision").GetInt32());

            var promote = await _cli.RunAsync("promote", "-d", id, "-o", "json");
            Assert.True(promote.ExitCode == ExitCodes.Success, promote.ToString());
            Assert.Equal(("Running", 2), (promote.Json.GetProperty("state").GetString(), promote.Json.GetProperty("stableRevision").GetInt32()));
        }
        finally
        {
            if (id is not null)
            {
                var destroy = await _cli.RunAsync("destroy", "-d", id, "--force");
                Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
            }
        }
    }

    [Fact]
    public async Task A_gate_left_waiting_is_approved_by_a_later_invocation_and_a_rejected_one_rolls_back_with_exit_5()
    {
        string? id = null;
        try
        {
            var deploy = await _cli.RunAsync("deploy", "--config", Config("1.0.0"), "-o", "json");
            Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
            id = deploy.Json.GetProperty("id").GetString()!;
            const string gated = ", steps: [{ setWeight: 50 }, { approval: { name: qa } }]";

            var update = await _cli.RunAsync("update", "-d", id, "--config", Config("2.0.0", "canary", gated), "-o", "json");
            Assert.True(update.ExitCode == ExitCodes.Success, update.ToString());
            Assert.Equal("Paused", update.Json.GetProperty("state").GetString());
            var approve = await _cli.RunAsync("approve", "-d", id, "--gate", "qa", "-m", "looks good", "-o", "json");
            Assert.True(approve.ExitCode == ExitCodes.Success, approve.ToString());
            Assert.Equal(("Running", 2), (approve.Json.GetProperty("state").GetString(), approve.Json.GetProperty("stableRevision").GetInt32()));

            var again = await _cli.RunAsync("update", "-d", id, "--config", Config("3.0.0", "canary", gated), "-o", "json");
            Assert.Equal("Paused", again.Json.GetProperty("state").GetString());
            var reject = await _cli.RunAsync("reject", "-d", id, "--gate", "qa", "-o", "json");
            Assert.True(reject.ExitCode == ExitCodes.RolledBack, reject.ToString());
            Assert.Equal(("RolledBack", 2), (reject.Json.GetProperty("state").GetString(), reject.Json.GetProperty("stableRevision").GetInt32()));
        }
        finally
        {
            if (id is not null)
            {
                Assert.Equal(ExitCodes.Success, (await _cli.RunAsync("destroy", "-d", id, "--force")).ExitCode);
            }
        }
    }

    [Fact]
    public async Task A_rollout_left_by_a_timeout_is_resumed_from_its_cursor_and_a_failing_canary_exits_5()
    {
        string? id = null;
        try
        {
            var deploy = await _cli.RunAsync("deploy", "--config", Config("1.0.0"), "-o", "json");
            Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
            id = deploy.Json.GetProperty("id").GetString()!;

            var timedOut = await _cli.RunAsync("update", "-d", id, "--config", Config("2.0.0", "rolling"), "--timeout", "0s", "-o", "json");
            Assert.True(timedOut.ExitCode == ExitCodes.Timeout, timedOut.ToString());
            Assert.Equal(2, timedOut.Json.GetProperty("targetRevision").GetInt32());
            var resumed = await _cli.RunAsync("resume", "-d", id, "-o", "json");
            Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.ToString());
            Assert.Equal(("Running", 2), (resumed.Json.GetProperty("state").GetString(), resumed.Json.GetProperty("stableRevision").GetInt32()));

            const string analysed = ", steps: [{ setWeight: 50 }, { analysis: { metrics: [{ name: ok, metric: successRate, path: /work, requests: 10, successCondition: { min: 0.95 } }] } }]";
            var failing = _cli.WriteFile("failing.yaml", File.ReadAllText(Config("3.0.0", "canary", analysed)).Replace("SAMPLE_VERSION: \"3.0.0\"", "SAMPLE_VERSION: \"3.0.0\", SAMPLE_ERROR_RATE: \"1\"", StringComparison.Ordinal));
            var rolledBack = await _cli.RunAsync("update", "-d", id, "--config", failing);
            Assert.True(rolledBack.ExitCode == ExitCodes.RolledBack, rolledBack.ToString());
            Assert.Contains("Rolled back: revision 2 keeps serving.", rolledBack.Output, StringComparison.Ordinal);
        }
        finally
        {
            if (id is not null)
            {
                Assert.Equal(ExitCodes.Success, (await _cli.RunAsync("destroy", "-d", id, "--force")).ExitCode);
            }
        }
    }

    [Fact]
    public async Task Start_serves_deployments_through_the_router_while_other_commands_see_its_live_status_or_exit_7()
    {
        string? id = null;
        try
        {
            var deploy = await _cli.RunAsync("deploy", "--config", Config("1.0.0"), "-o", "json");
            Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
            id = deploy.Json.GetProperty("id").GetString()!;

            var start = _cli.Start("start");
            await using var stopStart = start;
            var output = await start.WaitForOutputAsync("http://");
            var endpoint = System.Text.RegularExpressions.Regex.Match(output, @"http://127\.0\.0\.1:\d+/").Value;
            using (var client = new HttpClient())
            {
                Assert.StartsWith("1.0.0 ", await client.GetStringAsync(endpoint + "version"), StringComparison.Ordinal);
            }

            var live = await _cli.RunAsync("status", "-d", id, "-o", "json");
            Assert.True(live.ExitCode == ExitCodes.Success, live.ToString());
            AssertStatusShape(live.Json);
            Assert.Equal("live", live.Json.GetProperty("source").GetString());
            var revision = live.Json.GetProperty("components")[0].GetProperty("revisions")[0];
            Assert.Equal((2, 100), (revision.GetProperty("ready").GetInt32(), revision.GetProperty("weight").GetInt32()));

            var busy = await _cli.RunAsync("scale", "-d", id, "--replicas", "1", "--lock-timeout", "0s");
            Assert.True(busy.ExitCode == ExitCodes.Conflict, busy.ToString());
            Assert.Contains("(bpi-orchestration start)", busy.Error, StringComparison.Ordinal);

            var stopped = await start.InterruptAsync();
            Assert.True(stopped.ExitCode == ExitCodes.Interrupted, stopped.ToString());
            Assert.Contains("Stopping the orchestrator", stopped.Output, StringComparison.Ordinal);
            var continuous = await _cli.RunAsync(["status", "-d", id, "--continuous", "-o", "json"], interruptWhen: "\"source\"");
            Assert.Equal(ExitCodes.Success, continuous.ExitCode);
            using var line = System.Text.Json.JsonDocument.Parse(continuous.Output.Split('\n')[0]);
            Assert.Equal("Running", line.RootElement.GetProperty("state").GetString());
        }
        finally
        {
            if (id is not null)
            {
                Assert.Equal(ExitCodes.Success, (await _cli.RunAsync("destroy", "-d", id, "--force")).ExitCode);
            }
        }
    }

    [Fact]
    public async Task SelfHealing_start_as_a_process_replaces_a_killed_instance_while_it_runs_and_exits_130_on_SIGTERM()
    {
        string? id = null;
        try
        {
            var deploy = await _cli.RunAsync("deploy", "--config", Config("1.0.0"), "-o", "json");
            Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
            id = deploy.Json.GetProperty("id").GetString()!;

            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { CliSandbox.CliDll, "--state-dir", _cli.StateDir, "start" })
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["CI"] = "true";
            info.Environment["HOME"] = _cli.StateDir + "-home";
            using var process = Process.Start(info)!;
            var output = new System.Text.StringBuilder();
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) =>
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                    if (e.Data?.Contains("http://", StringComparison.Ordinal) == true)
                    {
                        ready.TrySetResult();
                    }
                }
            };
            process.BeginOutputReadLine();
            var stderr = process.StandardError.ReadToEndAsync();
            try
            {
                await ready.Task.WaitAsync(TimeSpan.FromMinutes(2));
                var mark = "BPI_DEPLOYMENT_ID=" + id;
                var before = ProcFs.WithEnvironment(mark);
                Assert.Equal(2, before.Count);

                // kill -9 one instance: the running orchestrator replaces it (the process runtime's exit watch wakes it).
                Process.GetProcessById(before[0]).Kill();
                await Eventually.UntilAsync(
                    () => ProcFs.WithEnvironment(mark) is { Count: 2 } now && !now.Contains(before[0]),
                    "the killed instance is replaced while start runs",
                    TimeSpan.FromSeconds(90));

                using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
                {
                    await kill.WaitForExitAsync();
                }

                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
                await process.WaitForExitAsync(timeout.Token);
                Assert.True(process.ExitCode == ExitCodes.Interrupted, $"exit {process.ExitCode}\n{output}\n{await stderr}");
                lock (output)
                {
                    Assert.Contains("self-healing", output.ToString(), StringComparison.Ordinal);
                }
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
        finally
        {
            if (id is not null)
            {
                Assert.Equal(ExitCodes.Success, (await _cli.RunAsync("destroy", "-d", id, "--force")).ExitCode);
            }
        }
    }

    [Fact]
    public async Task On_a_terminal_a_rollout_shows_live_progress_and_a_plain_run_prints_one_line_per_event()
    {
        string? id = null;
        try
        {
            _cli.Interactive = true;
            var live = await _cli.RunAsync("deploy", "--config", Config("1.0.0"));
            Assert.True(live.ExitCode == ExitCodes.Success, live.ToString());
            Assert.Contains("web: traffic r1 100%; r1 2/2 ready", live.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("step 1/3 done", live.Output, StringComparison.Ordinal);
            id = live.Output.Split("Deployment ")[1].Split(' ')[0];

            _cli.Interactive = false;
            var plain = await _cli.RunAsync("update", "-d", id, "--config", Config("2.0.0"));
            Assert.True(plain.ExitCode == ExitCodes.Success, plain.ToString());
            Assert.Matches(@"(?m)^\d\d:\d\d:\d\d  step 1/\d+ ", plain.Output);
            Assert.DoesNotContain("\u001b[", plain.Output, StringComparison.Ordinal);
        }
        finally
        {
            _cli.Interactive = false;
            if (id is not null)
            {
                Assert.Equal(ExitCodes.Success, (await _cli.RunAsync("destroy", "-d", id, "--force")).ExitCode);
            }
        }
    }

    [Fact]
    public async Task List_deployments_on_an_empty_state_directory_is_an_empty_document()
    {
        var list = await _cli.RunAsync("list-deployments", "--output", "json");

        Assert.Equal(ExitCodes.Success, list.ExitCode);
        Assert.Equal(JsonValueKind.Array, list.Json.GetProperty("deployments").ValueKind);
        Assert.Empty(list.Json.GetProperty("deployments").EnumerateArray());
        Assert.Equal(JsonValueKind.Object, list.Json.GetProperty("totals").ValueKind);
    }

    /// <summary>The documented fields of <c>status --output json</c>, with their JSON types.</summary>
    internal static void AssertStatusShape(JsonElement status)
    {
        var expected = new Dictionary<string, JsonValueKind[]>
        {
            ["id"] = [JsonValueKind.String], ["name"] = [JsonValueKind.String], ["appId"] = [JsonValueKind.String],
            ["environment"] = [JsonValueKind.String], ["type"] = [JsonValueKind.String], ["state"] = [JsonValueKind.String],
            ["strategy"] = [JsonValueKind.String], ["createdAt"] = [JsonValueKind.String], ["completedAt"] = [JsonValueKind.String, JsonValueKind.Null],
            ["progress"] = [JsonValueKind.Number], ["currentStep"] = [JsonValueKind.String, JsonValueKind.Null],
            ["stableRevision"] = [JsonValueKind.Number, JsonValueKind.Null], ["targetRevision"] = [JsonValueKind.Number, JsonValueKind.Null],
            ["message"] = [JsonValueKind.String, JsonValueKind.Null], ["components"] = [JsonValueKind.Array], ["source"] = [JsonValueKind.String],
        };
        Assert.Equal(expected.Keys.Order(), status.EnumerateObject().Select(p => p.Name).Order());
        foreach (var (name, kinds) in expected)
        {
            Assert.Contains(status.GetProperty(name).ValueKind, kinds);
        }

        foreach (var component in status.GetProperty("components").EnumerateArray())
        {
            Assert.Equal(["desiredReplicas", "id", "revisions", "weightsApproximated"], component.EnumerateObject().Select(p => p.Name).Order());
            foreach (var revision in component.GetProperty("revisions").EnumerateArray())
            {
                Assert.Equal(["instances", "ready", "revision", "weight"], revision.EnumerateObject().Select(p => p.Name).Order());
            }
        }
    }
}
