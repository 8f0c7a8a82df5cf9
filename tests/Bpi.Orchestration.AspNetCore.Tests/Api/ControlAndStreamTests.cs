using System.Net;
using System.Text.Json.Nodes;

namespace Bpi.Orchestration.AspNetCore.Tests.Api;

public sealed class ControlAndStreamTests
{
    [Fact]
    public async Task The_event_stream_follows_a_canary_through_its_weights_to_Running_after_promote()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        using var all = host.Deployer();
        using var allRequest = new HttpRequestMessage(HttpMethod.Get, "/api/v1/orchestration/events");
        using var allResponse = await all.SendAsync(allRequest, HttpCompletionOption.ResponseHeadersRead, TestContext.Timeout);
        Assert.Equal("text/event-stream", allResponse.Content.Headers.ContentType!.MediaType);
        var allEvents = new SseReader(await allResponse.Content.ReadAsStreamAsync());

        var id = await client.DeployAsync(Documents.Canary());
        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/orchestration/deployment/{id}/events");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = new SseReader(await response.Content.ReadAsStreamAsync());
        await events.NextAsync(e => e.Name == "status", TestContext.Timeout);

        // The first revision of a canary is rolled out at once; the second one goes through the steps.
        using (var update = await client.PutAsync($"/api/v1/orchestration/deployment/{id}", Documents.Json(Documents.Canary(image: "registry.local/web:2.0"))))
        {
            Assert.Equal(HttpStatusCode.Accepted, update.StatusCode);
        }

        // The first status (or a later one) shows the canary paused at 25 % of the traffic. Paused, not only at 25 %: the
        // weight shows as soon as the traffic step is done, a moment before the pause step waits for a promotion (a
        // promote in between is refused: nothing waits for it yet).
        var paused = await events.NextAsync(e => e.Name == "status" && Weight(e.Data, 2) == 25 && e.Data["state"]?.GetValue<string>() == "paused", TestContext.Timeout);
        Assert.Equal(75, Weight(paused.Data, 1) ?? 0);

        using var promote = await client.PostAsync($"/api/v1/orchestration/deployment/{id}/promote", null);
        Assert.Equal(HttpStatusCode.Accepted, promote.StatusCode);
        Assert.Equal($"/api/v1/orchestration/deployment/{id}", promote.Headers.Location!.OriginalString);

        var running = await events.NextAsync(e => e.Name == "state_changed" && e.Data["state"]!.GetValue<string>() == "running", TestContext.Timeout);
        Assert.Equal(id, running.Data["deployment_id"]!.GetValue<string>());
        Assert.NotNull(running.Id);
        await allEvents.NextAsync(e => e.Name == "state_changed" && e.Data["deployment_id"]!.GetValue<string>() == id && e.Data["state"]!.GetValue<string>() == "running", TestContext.Timeout);
    }

    /// <summary>Deploys a canary with an approval gate "qa" after 25 %, then updates it over HTTP (202): the update runs to the gate.</summary>
    private static async Task<(string Id, string Path)> UpdateThroughAnApprovalGateAsync(ApiHost host, HttpClient client)
    {
        static JsonObject Gated(string image)
        {
            var document = Documents.Canary("gated", image);
            document["strategy"]!["steps"] = new JsonArray(
                new JsonObject { ["setWeight"] = 25 },
                new JsonObject { ["approval"] = new JsonObject { ["name"] = "qa", ["timeout"] = "1h" } },
                new JsonObject { ["setWeight"] = 50 });
            return document;
        }

        var id = await client.DeployAsync(Gated("registry.local/web:1.0"));
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Running, TestContext.Timeout);
        var path = $"/api/v1/orchestration/deployment/{id}";
        using var update = await client.PutAsync(path, Documents.Json(Gated("registry.local/web:2.0")));
        Assert.Equal(HttpStatusCode.Accepted, update.StatusCode);
        return (id, path);
    }

    private static int? Weight(JsonObject status, int revision)
        => status["components"]![0]!["traffic_weights"]![revision.ToString(System.Globalization.CultureInfo.InvariantCulture)]?.GetValue<int>();

    [Fact]
    public async Task Scale_pause_resume_abort_rollback_and_destroy_act_through_the_orchestrator()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        var id = await client.DeployAsync(Documents.Simple());
        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);
        var path = $"/api/v1/orchestration/deployment/{id}";

        using (var scaled = await client.PostAsync(path + "/scale", Documents.Json("""{"replicas": 3}""")))
        {
            Assert.Equal(HttpStatusCode.Accepted, scaled.StatusCode);
        }

        Assert.Equal(3, (await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout)).Components[0].DesiredReplicas);

        var canary = await client.DeployAsync(Documents.Canary("cw"));
        await host.Vm.WaitForStateAsync(canary, s => s.IsSettled(), TestContext.Timeout);
        using (var update = await client.PutAsync($"/api/v1/orchestration/deployment/{canary}", Documents.Json(Documents.Canary("cw", image: "registry.local/web:2.0"))))
        {
            Assert.Equal(HttpStatusCode.Accepted, update.StatusCode);
        }

        await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(canary), s => s.Components[0].TrafficWeights.GetValueOrDefault(2) == 25, "the canary holds 25 % at its pause");
        using (var resumed = await client.PostAsync($"/api/v1/orchestration/deployment/{canary}/resume", null))
        {
            Assert.True(resumed.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Conflict, $"resume answered {(int)resumed.StatusCode}");
        }

        using (var aborted = await client.PostAsync($"/api/v1/orchestration/deployment/{canary}/abort", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, aborted.StatusCode);
        }

        var end = await host.Vm.WaitForStateAsync(canary, s => s.IsSettled(), TestContext.Timeout);
        Assert.NotEqual(DeploymentState.Running, end.State);

        using (var update = await client.PutAsync(path, Documents.Json(Documents.Simple(image: "registry.local/api:2.0", replicas: 3))))
        {
            Assert.Equal(HttpStatusCode.Accepted, update.StatusCode);
        }

        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);
        using (var rolledBack = await client.PostAsync(path + "/rollback", Documents.Json("""{"to_revision": 1}""")))
        {
            Assert.Equal(HttpStatusCode.Accepted, rolledBack.StatusCode);
            Assert.Equal(3, (await rolledBack.ReadObjectAsync())["revision"]!.GetValue<int>());
        }

        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);
        using var destroyed = await client.DeleteAsync(path + "?force=true");
        Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
        Assert.Equal("destroyed", (await destroyed.ReadObjectAsync())["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_rollout_waiting_at_an_approval_gate_is_approved_by_another_deployer_to_Running()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        using var approver = host.As("erin", "deployer");
        var (id, path) = await UpdateThroughAnApprovalGateAsync(host, client);

        // Paused too: the step names the gate when it starts, a moment before the gate waits for a decision.
        var waiting = await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.State == DeploymentState.Paused && s.CurrentStep?.Contains("qa", StringComparison.Ordinal) == true && s.Components[0].TrafficWeights.GetValueOrDefault(2) == 25, "the rollout waits at gate qa with 25 %");

        using (var approved = await approver.PostAsync(path + "/approvals/qa/approve", Documents.Json("""{"comment": "looks good"}""")))
        {
            Assert.True(approved.StatusCode == HttpStatusCode.Accepted, $"approve answered {(int)approved.StatusCode}: {await approved.Content.ReadAsStringAsync()}");
            Assert.Equal(path, approved.Headers.Location!.OriginalString);
        }

        var done = await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);
        Assert.Equal(DeploymentState.Running, done.State);
        Assert.Equal(2, done.StableRevision);
        Assert.NotNull(waiting.CurrentStep);
    }

    [Fact]
    public async Task A_rollout_rejected_at_its_approval_gate_over_HTTP_keeps_the_previous_revision_with_the_rejecters_comment()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        using var rejecter = host.As("frank", "deployer");
        var (id, path) = await UpdateThroughAnApprovalGateAsync(host, client);

        await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), s => s.State == DeploymentState.Paused && s.CurrentStep?.Contains("qa", StringComparison.Ordinal) == true, "the rollout waits at gate qa");
        using (var rejected = await rejecter.PostAsync(path + "/approvals/qa/reject", Documents.Json("""{"comment": "not during the sale"}""")))
        {
            Assert.True(rejected.StatusCode == HttpStatusCode.Accepted, $"reject answered {(int)rejected.StatusCode}: {await rejected.Content.ReadAsStringAsync()}");
        }

        var done = await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);
        Assert.Equal(1, done.StableRevision);
        Assert.Contains("rejected by frank: not during the sale", done.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pause_holds_a_rollout_in_progress_and_resume_takes_it_to_Running()
    {
        // Instances take 2 s to start on the in-memory runtime, so the first rollout is still in progress when paused.
        await using var host = await ApiHost.StartAsync(configure: b => Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<Bpi.Orchestration.Testing.InMemoryRuntimeOptions>(b.Services, o => o.StartDelay = TimeSpan.FromSeconds(2)));
        using var client = host.Deployer();
        var id = await client.DeployAsync(Documents.Simple(replicas: 2));
        var path = $"/api/v1/orchestration/deployment/{id}";

        using (var paused = await client.PostAsync(path + "/pause", null))
        {
            Assert.True(paused.StatusCode == HttpStatusCode.Accepted, $"pause answered {(int)paused.StatusCode}: {await paused.Content.ReadAsStringAsync()}");
        }

        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Paused, TestContext.Timeout);
        using (var resumed = await client.PostAsync(path + "/resume", null))
        {
            Assert.True(resumed.StatusCode == HttpStatusCode.Accepted, $"resume answered {(int)resumed.StatusCode}: {await resumed.Content.ReadAsStringAsync()}");
        }

        var done = await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);
        Assert.Equal(DeploymentState.Running, done.State);
        Assert.Equal(1, done.StableRevision);
        Assert.Equal(2, done.Components[0].Instances.Sum(i => i.Running));
    }

    [Fact]
    public async Task Approving_a_gate_no_rollout_waits_at_is_a_conflict_problem_and_a_bad_comment_type_is_listed()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        var id = await client.DeployAsync(Documents.Simple());
        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);

        using var approve = await client.PostAsync($"/api/v1/orchestration/deployment/{id}/approvals/qa/approve", Documents.Json("""{"comment": "ok"}"""));
        using var reject = await client.PostAsync($"/api/v1/orchestration/deployment/{id}/approvals/qa/reject", Documents.Json("""{"comment": 5}"""));

        Assert.Equal(HttpStatusCode.Conflict, approve.StatusCode);
        Assert.Equal("conflict", (await approve.ReadObjectAsync())["error_kind"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, reject.StatusCode);
        Assert.Contains("comment:", (await reject.ReadObjectAsync())["errors"]![0]!.GetValue<string>(), StringComparison.Ordinal);
    }
}

/// <summary>Reads server-sent events: name, id and JSON data.</summary>
internal sealed class SseReader(Stream stream)
{
    private readonly StreamReader _reader = new(stream);

    public sealed record Event(string Name, string? Id, JsonObject Data);

    public async Task<Event> NextAsync(Func<Event, bool> match, CancellationToken cancellationToken)
    {
        string? name = null, id = null, data = null;
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (name is not null && data is not null && new Event(name, id, (JsonObject)JsonNode.Parse(data)!) is var e && match(e))
                {
                    return e;
                }

                name = id = data = null;
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        throw new InvalidOperationException("The event stream ended before the expected event.");
    }
}
