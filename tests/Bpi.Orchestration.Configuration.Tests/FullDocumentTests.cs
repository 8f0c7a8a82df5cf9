using System.Text.Json;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;

namespace Bpi.Orchestration.Configuration.Tests;

/// <summary>Everything the SDK can do can be written in the document.</summary>
public sealed class FullDocumentTests
{
    public const string Everything = """
        name: shop
        appId: shop
        components:
          - id: web
            image: web:1
            replicas: 2
            ports: [8080]
        infrastructure:
          resources: { cpuCores: 4, memoryMb: 4096, storageGb: 20, networkBandwidthMbps: 100 }
          network: { vpcCidr: 10.0.0.0/16, subnetCidrs: [10.0.1.0/24, 10.0.2.0/24], securityGroups: [web] }
          security:
            encryptionLevel: high
            securityProfile: restricted
            accessControl: { model: attributeBased, roles: [deployer], attributes: { team: payments } }
        strategy:
          type: canary
          hooks:
            preRollout: [{ name: announce, url: "http://127.0.0.1:9/pre", timeout: 5s, failOnError: true }]
            postRollout: [{ name: done }]
            onAbort: [{ name: undo, url: "http://127.0.0.1:9/abort" }]
          steps:
            - setWeight: 25
            - analysis:
                name: compare
                metrics:
                  - { name: errors, prometheus: { address: "http://prometheus:9090", query: "rate(errors[1m])", timeout: 3s }, successCondition: { max: 0.01 } }
                  - { name: queue, json: { url: "http://stats/queue", jsonPath: $.depth, headers: { X-Key: k }, timeout: 2s }, successCondition: { max: 10 } }
                judge: { samplesPerRevision: 120, minimumSampleSize: 30, confidence: 0.9, allowedLatencyIncrease: 1.2, allowedErrorRateIncrease: 0.02, latencyWeight: 60, errorRateWeight: 40, marginalScore: 70, passScore: 90, path: /work }
            - approval: { name: release, webhook: "http://127.0.0.1:9/gate", webhookInterval: 5s, timeout: 10m, escalation: reject }
            - setWeight: 100
        """;

    [Fact]
    public void Infrastructure_hooks_the_judge_web_metrics_and_a_webhook_gate_map_field_by_field()
    {
        var spec = DeploymentDocument.Parse(Everything, DeploymentDocumentFormat.Yaml, "shop.yaml");

        var infrastructure = spec.Infrastructure;
        Assert.Equal((4.0, 4096L, 20.0, 100.0), (infrastructure.Resources!.CpuCores, infrastructure.Resources.MemoryMb, infrastructure.Resources.StorageGb, infrastructure.Resources.NetworkBandwidthMbps));
        Assert.Equal("10.0.0.0/16", infrastructure.Network!.VpcCidr);
        Assert.Equal(["10.0.1.0/24", "10.0.2.0/24"], infrastructure.Network.SubnetCidrs);
        Assert.Equal(["web"], infrastructure.Network.SecurityGroups);
        Assert.Equal((EncryptionLevel.High, "restricted", AccessControlModel.AttributeBased), (infrastructure.Security.EncryptionLevel, infrastructure.Security.SecurityProfile, infrastructure.Security.AccessControl.Model));
        Assert.Equal(["deployer"], infrastructure.Security.AccessControl.Roles);
        Assert.Equal("payments", infrastructure.Security.AccessControl.Attributes["team"]);

        var canary = Assert.IsType<CanaryStrategySpec>(spec.Strategy);
        var pre = Assert.Single(canary.Hooks.PreRollout);
        Assert.Equal(("announce", new Uri("http://127.0.0.1:9/pre"), TimeSpan.FromSeconds(5), (bool?)true), (pre.Name, pre.Url, pre.Timeout, pre.FailOnError));
        Assert.Equal("done", Assert.Single(canary.Hooks.PostRollout).Name);
        Assert.Equal("undo", Assert.Single(canary.Hooks.OnAbort).Name);

        var analysis = Assert.IsType<CanaryStep.Analyze>(canary.Steps[1]).Analysis;
        var prometheus = Assert.IsType<PrometheusMetricQuery>(analysis.Metrics[0].Query);
        Assert.Equal(("rate(errors[1m])", TimeSpan.FromSeconds(3)), (prometheus.Query, prometheus.Timeout));
        var json = Assert.IsType<JsonMetricQuery>(analysis.Metrics[1].Query);
        Assert.Equal(("$.depth", "k", TimeSpan.FromSeconds(2)), (json.JsonPath, json.Headers["X-Key"], json.Timeout));
        Assert.Equal(new StatisticalJudgeSpec { SamplesPerRevision = 120, MinimumSampleSize = 30, Confidence = 0.9, AllowedLatencyIncrease = 1.2, AllowedErrorRateIncrease = 0.02, LatencyWeight = 60, ErrorRateWeight = 40, MarginalScore = 70, PassScore = 90, Path = "/work" }, analysis.Judge);

        var gate = Assert.IsType<CanaryStep.Approval>(canary.Steps[2]).Gate;
        Assert.Equal((new Uri("http://127.0.0.1:9/gate"), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10)), (gate.Webhook, gate.WebhookInterval, gate.Timeout));
    }

    /// <summary>A blue-green rollout in traffic steps with hooks.</summary>
    public const string BlueGreenTrafficSteps = """
        name: shop
        appId: shop
        components: [{ id: web, image: web:1 }]
        strategy:
          type: blue-green
          promotion: manual
          trafficSteps:
            - { weight: 25, duration: 1m, analysis: { judge: {} } }
            - { weight: 100 }
          hooks: { postRollout: [{ name: smoke }] }
        """;

    [Fact]
    public void Blue_green_traffic_steps_and_hooks_map_by_the_registered_strategy_name()
    {
        const string yaml = BlueGreenTrafficSteps;

        var spec = DeploymentDocument.Parse(yaml, DeploymentDocumentFormat.Yaml, "shop.yaml");

        var blueGreen = Assert.IsType<BlueGreenStrategySpec>(spec.Strategy);
        Assert.Equal(BlueGreenPromotion.Manual, blueGreen.Promotion);
        Assert.Equal([25, 100], blueGreen.TrafficSteps.Select(s => s.Weight));
        Assert.Equal(TimeSpan.FromMinutes(1), blueGreen.TrafficSteps[0].Duration);
        Assert.NotNull(blueGreen.TrafficSteps[0].Analysis!.Judge);
        Assert.Equal("smoke", Assert.Single(blueGreen.Hooks.PostRollout).Name);
    }

    [Fact]
    public void The_older_top_level_security_block_still_sets_the_encryption_level()
    {
        var spec = DeploymentDocument.Parse("name: a\nappId: b\ncomponents: [{ id: web, image: web:1 }]\nsecurity: { encryptionLevel: maximum }", DeploymentDocumentFormat.Yaml, "a.yaml");

        Assert.Equal(EncryptionLevel.Maximum, spec.Infrastructure.Security.EncryptionLevel);
    }

    [Fact]
    public void A_json_element_and_the_same_text_read_as_the_same_spec()
    {
        const string json = """{ "name": "shop", "appId": "shop", "components": [{ "id": "web", "image": "web:1", "replicas": 3 }], "strategy": { "type": "rolling", "maxSurge": "50%" } }""";
        using var document = JsonDocument.Parse(json);

        var fromText = DeploymentDocument.Parse(json, DeploymentDocumentFormat.Json, "body");
        var fromElement = DeploymentDocument.Parse(document.RootElement, "body");

        Assert.Equal(JsonSerializer.Serialize(fromText.Components), JsonSerializer.Serialize(fromElement.Components));
        Assert.Equal(JsonSerializer.Serialize(fromText.Strategy, fromText.Strategy.GetType()), JsonSerializer.Serialize(fromElement.Strategy, fromElement.Strategy.GetType()));
        Assert.Equal(Strategies.IntOrPercent.Percent(50), Assert.IsType<Strategies.Rolling.RollingStrategySpec>(fromElement.Strategy).MaxSurge);
    }

    [Fact]
    public void A_json_element_nested_deeper_than_the_limit_is_refused_with_its_path()
    {
        var json = "{\"labels\":" + string.Concat(Enumerable.Repeat("[", DeploymentDocument.MaxDepth + 2)) + string.Concat(Enumerable.Repeat("]", DeploymentDocument.MaxDepth + 2)) + "}";
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 1000 });

        var ex = Assert.Throws<OrchestrationException>(() => DeploymentDocument.Parse(document.RootElement, "body"));

        Assert.Contains(ex.Errors, e => e.Contains($"nested more than {DeploymentDocument.MaxDepth} levels deep", StringComparison.Ordinal));
    }
}
