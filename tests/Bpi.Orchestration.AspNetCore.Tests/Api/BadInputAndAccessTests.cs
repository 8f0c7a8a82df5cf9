using System.Net;

namespace Bpi.Orchestration.AspNetCore.Tests.Api;

public sealed class BadInputAndAccessTests
{
    [Theory]
    [InlineData("{\"name\": \"web\",", "malformed JSON")]
    [InlineData("{\"name\": \"web\", \"appId\": \"shop\", \"components\": [{\"id\": \"web\", \"image\": \"x:1\"}], \"colour\": \"red\"}", "colour")]
    [InlineData("{\"name\": \"web\", \"appId\": \"shop\", \"components\": [{\"id\": \"web\", \"image\": \"x:1\", \"replicas\": \"many\"}]}", "replicas")]
    public async Task A_bad_deploy_body_is_a_problem_listing_what_is_wrong_with_the_error_kind_and_no_stack_trace(string body, string named)
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();

        using var response = await client.PostAsync("/api/v1/orchestration/deploy", Documents.Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var problem = System.Text.Json.Nodes.JsonNode.Parse(text)!;
        Assert.Equal("invalid_configuration", problem["error_kind"]!.GetValue<string>());
        Assert.Contains(problem["errors"]!.AsArray(), e => e!.GetValue<string>().Contains(named, StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.Empty((await host.Vm.ListAsync()).Deployments);
    }

    [Fact]
    public async Task A_one_megabyte_name_is_refused_as_a_problem_and_a_body_over_the_limit_with_413()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        var document = Documents.Simple();
        document["name"] = new string('a', 1_000_000);

        using var longName = await client.PostAsync("/api/v1/orchestration/deploy", Documents.Json(document));
        document["name"] = new string('a', 1_100_000);
        using var tooLarge = await client.PostAsync("/api/v1/orchestration/deploy", Documents.Json(document));

        Assert.Equal(HttpStatusCode.BadRequest, longName.StatusCode);
        Assert.NotEmpty((await longName.ReadObjectAsync())["errors"]!.AsArray());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Empty((await host.Vm.ListAsync()).Deployments);
    }

    [Fact]
    public async Task An_unknown_field_and_a_wrong_type_in_a_scale_body_are_both_listed()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        var id = await client.DeployAsync(Documents.Simple());

        using var response = await client.PostAsync($"/api/v1/orchestration/deployment/{id}/scale", Documents.Json("""{"replicas": "3", "size": 1}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadObjectAsync())["errors"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("replicas:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("size: unknown field", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_anonymous_request_is_401_and_a_viewer_may_read_but_deploying_is_403_as_the_policy_decides()
    {
        await using var host = await ApiHost.StartAsync();
        using var anonymous = host.As(null);
        using var viewer = host.As("vic", "viewer");

        using var anonymousList = await anonymous.GetAsync("/api/v1/orchestration/deployments");
        using var viewerList = await viewer.GetAsync("/api/v1/orchestration/deployments");
        using var viewerDeploy = await viewer.PostAsync("/api/v1/orchestration/deploy", Documents.Json(Documents.Simple()));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymousList.StatusCode);
        Assert.Equal("unauthorized", (await anonymousList.ReadObjectAsync())["error_kind"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, viewerList.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, viewerDeploy.StatusCode);
        Assert.Empty((await host.Vm.ListAsync()).Deployments);
    }

    [Fact]
    public async Task Invalid_API_options_stop_the_host_at_start_with_every_problem_named_by_type_and_property()
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => ApiHost.StartAsync(configure: b =>
            Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<OrchestrationApiOptions>(b.Services, o =>
            {
                o.MaxRequestBodyBytes = 1;
                o.UserIdClaimTypes.Clear();
            })));

        Assert.Equal(
            [
                "OrchestrationApiOptions.MaxRequestBodyBytes: 1 is outside 1024..67108864; use a size between 1 KiB and 64 MiB.",
                "OrchestrationApiOptions.UserIdClaimTypes: empty; name at least one claim type for the actor's id, or set ActorFactory.",
            ],
            failure.Failures);
    }

    [Fact]
    public async Task An_unknown_deployment_is_a_404_problem()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();

        using var response = await client.GetAsync("/api/v1/orchestration/deployment/dep-nothing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", (await response.ReadObjectAsync())["error_kind"]!.GetValue<string>());
    }
}

public sealed class SeedBodyTests
{
    private const string Seed = """
        {
          "deployment_type": "docklock_container",
          "app_id": "web-app",
          "config": { "deployment_name": "web-service-001" },
          "resource_requirements": { "cpu_cores": 4, "memory_mb": 8192 },
          "security_config": { "encryption_level": "high", "access_control": "rbac" }
        }
        """;

    [Fact]
    public async Task The_seeds_deploy_body_is_refused_naming_the_missing_image_or_command_by_the_seeds_fields()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();

        using var response = await client.PostAsync("/api/v1/orchestration/deploy", Documents.Json(Seed));

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadObjectAsync())["errors"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Contains(errors, e => e.StartsWith("config.image or config.command", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_seeds_deploy_body_with_an_image_is_accepted()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        var body = System.Text.Json.Nodes.JsonNode.Parse(Seed)!;
        body["config"]!["image"] = "registry.local/web:1.0";

        var id = await client.DeployAsync(body);

        Assert.Equal("web-service-001", (await host.Vm.GetStatusAsync(id)).Name);
    }
}
