namespace Bpi.Orchestration.Configuration.Tests;

public sealed class EveryProblemTests
{
    private static OrchestrationException Refused(string yaml)
        => Assert.Throws<OrchestrationException>(() => DeploymentDocument.Parse(yaml, DeploymentDocumentFormat.Yaml, "shop.yaml"));

    /// <summary>Seven independent mistakes, field-level and whole-spec (also checked against the schema).</summary>
    internal const string SevenMistakes = """
        name: shop
        appId: shop
        components:
          - id: web
            image: web:1
            replicas: -1
            imagePullPolicy: always
            ports: [8080]
            dependsOn: [cache]
          - id: web
            image: web:1
          - id: api
            image: api:1
            ports: [8081]
            dependsOn: [worker]
            healthCheck: { path: /health, period: 1s, timeout: 5s }
          - id: worker
            image: worker:1
            dependsOn: [api]
        infrastructure:
          network: { vpcCidr: 10.0.0.0/16, subnetCidrs: [10.1.0.0/24] }
        """;

    [Fact]
    public void A_config_with_seven_independent_mistakes_is_refused_with_all_seven_listed_at_once()
    {
        const string yaml = SevenMistakes;

        var ex = Refused(yaml);

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        string[] expected =
        [
            "components[0].replicas: -1 must be at least 0.",                         // a value out of range
            "components[0].imagePullPolicy: unknown field",                           // a field the model does not have
            "components[1] (web).id: 'web' is used by more than one component",       // duplicate ids
            "components (web).dependsOn: 'cache' is not a component",                 // an unknown dependency
            "components: dependency cycle",                                           // a cycle
            "components[2] (api).healthCheck.timeout: 00:00:05 exceeds the period",   // a probe longer than its period
            "infrastructure.network.subnetCidrs[0]: '10.1.0.0/24' is not inside the VPC", // the network
        ];
        foreach (var problem in expected)
        {
            Assert.Contains(ex.Errors, e => e.StartsWith(problem, StringComparison.Ordinal));
        }

        Assert.True(expected.Length == ex.Errors.Count, string.Join("\n", ex.Errors));
    }

    [Fact]
    public void A_field_that_cannot_be_read_is_reported_once_not_again_by_the_specs_own_checks()
    {
        const string yaml = """
            appId: Shop_1
            components:
              - id: web
                command: 42
                ports: [70000, { name: admin }]
              - 7
            """;

        var ex = Refused(yaml);

        string[] expected =
        [
            "name: is required.",
            "components[0].command: must be a string",
            "components[0].ports[0].containerPort: 70000 must be 1-65535.",
            "components[0].ports[1].containerPort: is required.",
            "components[1]: must be an object",
            "appId: 'Shop_1' must be 1-63 lowercase letters",
        ];
        foreach (var problem in expected)
        {
            Assert.Contains(ex.Errors, e => e.StartsWith(problem, StringComparison.Ordinal));
        }

        Assert.True(expected.Length == ex.Errors.Count, string.Join("\n", ex.Errors));
    }

    [Fact]
    public void A_prometheus_or_json_metric_left_empty_is_reported_instead_of_crashing_the_reader()
    {
        const string yaml = """
            name: shop
            appId: shop
            components: [{ id: web, image: web:1 }]
            strategy:
              type: canary
              steps:
                - analysis: { metrics: [{ name: errors, prometheus: ~ }, { name: latency, json: text }] }
            """;

        var ex = Refused(yaml);

        Assert.Contains("strategy.steps[0].analysis.metrics[0].prometheus: is required.", ex.Errors);
        Assert.Contains(ex.Errors, e => e.StartsWith("strategy.steps[0].analysis.metrics[1].json: must be an object", StringComparison.Ordinal));
    }

    [Fact]
    public void A_health_check_without_a_timeout_gets_one_no_longer_than_its_period()
    {
        const string yaml = "name: shop\nappId: shop\ncomponents: [{ id: web, image: web:1, ports: [80], healthCheck: { period: 300ms } }]";

        var spec = DeploymentDocument.Parse(yaml, DeploymentDocumentFormat.Yaml, "shop.yaml");

        Assert.Equal(TimeSpan.FromMilliseconds(300), spec.Components[0].HealthCheck!.Timeout);
    }
}
