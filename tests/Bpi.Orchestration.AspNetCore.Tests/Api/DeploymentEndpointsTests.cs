using System.Net;
using System.Text.Json.Nodes;

namespace Bpi.Orchestration.AspNetCore.Tests.Api;

public sealed class DeploymentEndpointsTests
{
    [Fact]
    public async Task Deploy_answers_202_with_the_status_location_and_the_status_reads_back_in_snake_case()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();

        using var response = await client.PostAsync("/api/v1/orchestration/deploy", Documents.Json(Documents.Simple()));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.ReadObjectAsync();
        var id = accepted["deployment_id"]!.GetValue<string>();
        Assert.Equal($"/api/v1/orchestration/deployment/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal($"/api/v1/orchestration/deployment/{id}/events", accepted["events"]!.GetValue<string>());
        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);

        using var status = await client.GetAsync(response.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.NotNull(status.Headers.ETag);
        var body = await status.ReadObjectAsync();
        Assert.Equal("running", body["state"]!.GetValue<string>());
        Assert.Equal("shop", body["app_id"]!.GetValue<string>());
        Assert.Equal(1, body["stable_revision"]!.GetValue<int>());
        Assert.Equal("api", body["components"]![0]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Deployments_lists_every_deployment_with_totals_and_filters_by_state()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        var first = await client.DeployAsync(Documents.Simple("one"));
        var second = await client.DeployAsync(Documents.Simple("two"));
        await host.Vm.WaitForStateAsync(first, s => s.IsSettled(), TestContext.Timeout);
        await host.Vm.WaitForStateAsync(second, s => s.IsSettled(), TestContext.Timeout);

        var all = await client.GetFromJsonObjectAsync("/api/v1/orchestration/deployments");
        var failed = await client.GetFromJsonObjectAsync("/api/v1/orchestration/deployments?state=failed,rolled_back");

        Assert.Equal(2, all["deployments"]!.AsArray().Count);
        Assert.Equal(2, all["totals_by_state"]!["running"]!.GetValue<int>());
        Assert.Empty(failed["deployments"]!.AsArray());
    }

    [Fact]
    public async Task Update_with_the_current_ETag_rolls_out_a_new_revision_and_a_stale_ETag_is_refused_with_412()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        var id = await client.DeployAsync(Documents.Simple());
        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);
        using var read = await client.GetAsync($"/api/v1/orchestration/deployment/{id}");
        var etag = read.Headers.ETag!.Tag;

        using var update = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/orchestration/deployment/{id}") { Content = Documents.Json(Documents.Simple(image: "registry.local/api:2.0")) };
        update.Headers.TryAddWithoutValidation("If-Match", etag);
        using var updated = await client.SendAsync(update);
        Assert.Equal(HttpStatusCode.Accepted, updated.StatusCode);
        Assert.Equal(2, (await updated.ReadObjectAsync())["revision"]!.GetValue<int>());
        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);

        using var stale = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/orchestration/deployment/{id}") { Content = Documents.Json(Documents.Simple(image: "registry.local/api:3.0")) };
        stale.Headers.TryAddWithoutValidation("If-Match", etag);
        using var refused = await client.SendAsync(stale);
        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        var problem = await refused.ReadObjectAsync();
        Assert.Equal("conflict", problem["error_kind"]!.GetValue<string>());
        Assert.Equal(2, (await host.Vm.GetStatusAsync(id)).StableRevision);
    }

    [Fact]
    public async Task History_and_DORA_answer_for_a_deployment_that_rolled_out()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        var id = await client.DeployAsync(Documents.Simple());
        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);

        var history = JsonNode.Parse(await client.GetStringAsync($"/api/v1/orchestration/deployment/{id}/history"))!.AsArray();
        var dora = await client.GetFromJsonObjectAsync("/api/v1/orchestration/dora?app_id=shop&environment=development");

        Assert.Single(history);
        Assert.Equal(1, history[0]!["revision"]!.GetValue<int>());
        Assert.True(dora.ContainsKey("deployments_per_day"), dora.ToJsonString());
    }

    [Fact]
    public async Task DORA_without_its_query_lists_both_missing_parameters()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();

        using var response = await client.GetAsync("/api/v1/orchestration/dora");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadObjectAsync())["errors"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Contains(errors, e => e.StartsWith("app_id:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("environment:", StringComparison.Ordinal));
    }
}
