using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Bpi.Orchestration.Configuration.Tests;

/// <summary>
/// The published JSON Schema: the checked-in file is what the package produces, it is a valid draft 2020-12 schema, the
/// documents the SDK accepts are valid against it, and every field it names is read by the SDK (so neither side can
/// grow a field the other does not know).
/// </summary>
public sealed class JsonSchemaTests
{
    private const string SchemaFile = "docs/schema/deployment.schema.json";

    /// <summary>With the repository's examples and the documents above, these name every field the schema has.</summary>
    private const string EveryOtherField = """
        $schema: https://github.com/bpi-orchestration/bpi-orchestration/blob/main/docs/schema/deployment.schema.json
        name: shop
        appId: shop
        environment: staging
        type: dockLockContainer
        labels: { team: payments, tier: 1 }
        components:
          - id: web
            type: dockLockContainer
            command: { fileName: web.dll, arguments: [--port, 8080], workingDirectory: /srv }
            replicas: 2
            ports: [{ name: http, containerPort: 8080, protocol: tcp }]
            resources: { cpuCores: 0.5, memoryMb: 256 }
            environment: { MODE: fast, RETRIES: 3 }
            secrets: { TOKEN: s3cret }
            healthCheck:
              type: http
              path: /health
              port: 8080
              initialDelay: 1s
              period: 5s
              timeout: 2s
              failureThreshold: 3
              successThreshold: 1
              expectedStatusMin: 200
              expectedStatusMax: 299
              headers: { X-Probe: "1" }
            runtimeSettings: { docklock.seccomp: default }
            autoscaling:
              minReplicas: 2
              maxReplicas: 6
              targetCpuUtilizationPercent: 70
              targetMemoryUtilizationPercent: 80
              tolerance: 0.05
              scaleUp: { stabilizationWindow: 30s, selectPolicy: min, policies: [{ type: pods, value: 2, period: 15s }, { type: percent, value: 50, period: 1m }] }
              scaleDown: { stabilizationWindow: 2m, selectPolicy: disabled }
          - id: worker
            command: [worker.dll, --queue, jobs]
            dependsOn: web
            healthCheck: { type: exec, command: [pgrep, worker], period: 10s }
          - id: rpc
            image: rpc:1
            ports: [9090]
            dependsOn: [web]
            healthCheck: { type: grpc, grpcService: rpc.Health, period: 10s }
        validation: { healthValidation: true, progressDeadline: 10m, minReadyTime: 5s, pollInterval: 1s }
        rollback: { automatic: true, historyLimit: 5, healthFailureRateTrigger: 0.5 }
        strategy:
          type: blueGreen
          previewReplicas: 1
          previewRoute: true
          promotion: automaticAfterDelay
          autoPromotionDelay: 30s
          scaleDownDelay: 1m
          analysisComponent: web
          prePromotionAnalysis:
            name: smoke
            metrics:
              - name: latency
                metric: latencyP95
                revision: canary
                requests: 20
                path: /work
                count: 3
                interval: 5s
                initialDelay: 1s
                failureCondition: { min: 0.5 }
                failureLimit: 1
                inconclusiveLimit: 1
                consecutiveErrorLimit: 2
          postPromotionAnalysis: { metrics: [{ name: ok, metric: successRate, successCondition: { min: 0.99 } }] }
        """;

    private const string Rolling = """
        name: shop
        appId: shop
        components: [{ id: web, image: web:1, replicas: 4 }]
        strategy: { type: rolling, maxSurge: 25%, maxUnavailable: 1, batchSize: 2, pauseBetweenBatches: 10s, hooks: { preRollout: [{ name: warn }] } }
        """;

    private const string CanaryShorthand = """
        name: shop
        appId: shop
        components: [{ id: web, image: web:1, replicas: 4, ports: [8080] }]
        strategy:
          type: canary
          stepWeight: 20
          maxWeight: 60
          interval: 30s
          analysisComponent: web
          analysis: { metrics: [{ name: ok, metric: successRate, successCondition: { min: 0.95 } }] }
        """;

    private const string CanaryPausesAndGates = """
        name: shop
        appId: shop
        components: [{ id: web, image: web:1, ports: [8080] }]
        strategy:
          type: canary
          steps:
            - setWeight: 10
            - pause: 30s
            - pause: {}
            - approval: { name: release, requiredApprovals: 2, approverMustDifferFromRequester: true, escalation: notifyAndWait, timeout: 1h }
        """;

    private const string MetricSources = """
        name: shop
        appId: shop
        components: [{ id: web, image: web:1, ports: [8080] }]
        strategy:
          type: canary
          steps:
            - analysis:
                metrics:
                  - { name: errors, prometheus: { address: "http://prometheus:9090", query: "rate(errors[1m])" }, count: 2, interval: 10s, initialDelay: 1s, successCondition: { max: 0.01 }, failureCondition: { min: 0.1 }, failureLimit: 1, inconclusiveLimit: 1, consecutiveErrorLimit: 2 }
                  - { name: queue, json: { url: "http://stats/queue", jsonPath: $.depth }, count: 2, interval: 10s, initialDelay: 1s, successCondition: { max: 10 }, failureCondition: { min: 100 }, failureLimit: 1, inconclusiveLimit: 1, consecutiveErrorLimit: 2 }
        """;

    private const string Recreate = """
        { "name": "shop", "appId": "shop", "components": [{ "id": "web", "image": "web:1" }], "strategy": { "type": "recreate" }, "security": { "encryptionLevel": "maximum" } }
        """;

    private static string RepositoryRoot => typeof(JsonSchemaTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromText(DeploymentDocument.JsonSchema));

    /// <summary>Every document the SDK accepts and these tests check against the schema, by name.</summary>
    public static TheoryData<string> AcceptedDocuments()
    {
        var data = new TheoryData<string>();
        foreach (var name in Documents().Keys)
        {
            data.Add(name);
        }

        return data;
    }

    private static Dictionary<string, (string Text, DeploymentDocumentFormat Format)> Documents()
    {
        var documents = new Dictionary<string, (string, DeploymentDocumentFormat)>(StringComparer.Ordinal)
        {
            ["everything (judge, hooks, webhook gate, infrastructure)"] = (FullDocumentTests.Everything, DeploymentDocumentFormat.Yaml),
            ["blue-green traffic steps"] = (FullDocumentTests.BlueGreenTrafficSteps, DeploymentDocumentFormat.Yaml),
            ["the deployed judge/hooks/webhook/infrastructure document"] = (DeployFromDocumentTests.Document.Replace("VERSION", "1", StringComparison.Ordinal).Replace("SERVER/", "http://127.0.0.1:9/", StringComparison.Ordinal), DeploymentDocumentFormat.Yaml),
            ["every other field"] = (EveryOtherField, DeploymentDocumentFormat.Yaml),
            ["rolling"] = (Rolling, DeploymentDocumentFormat.Yaml),
            ["canary shorthand"] = (CanaryShorthand, DeploymentDocumentFormat.Yaml),
            ["canary pauses and gates"] = (CanaryPausesAndGates, DeploymentDocumentFormat.Yaml),
            ["metric sources with every measuring field"] = (MetricSources, DeploymentDocumentFormat.Yaml),
            ["recreate, older security block, JSON"] = (Recreate, DeploymentDocumentFormat.Json),
            ["enc cluster"] = (EncClusterDocumentTests.Document, DeploymentDocumentFormat.Yaml),
            ["hybrid, a type per component"] = (ComponentTypeDocumentTests.Document, DeploymentDocumentFormat.Yaml),
            ["autoscaling on custom metrics"] = (AutoscalingDocumentTests.CustomMetrics, DeploymentDocumentFormat.Yaml),
        };
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepositoryRoot, "samples"), "*.*", SearchOption.AllDirectories)
                     .Where(f => f.Contains($"{Path.DirectorySeparatorChar}examples{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && (f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))))
        {
            documents[Path.GetRelativePath(RepositoryRoot, file)] = (File.ReadAllText(file), DeploymentDocument.FormatOf(file));
        }

        return documents;
    }

    private static EvaluationResults Evaluate(string text, DeploymentDocumentFormat format, OutputFormat output = OutputFormat.List)
    {
        var tree = DeploymentDocument.ReadTree(text, format, "doc");
        using var json = JsonDocument.Parse(tree!.ToJsonString());
        return Schema.Value.Evaluate(json.RootElement.Clone(), new EvaluationOptions { OutputFormat = output });
    }

    /// <summary>The result and its details (the list output holds every node flat).</summary>
    private static IEnumerable<EvaluationResults> Nodes(EvaluationResults results) => [results, .. results.Details ?? []];

    private static string Problems(EvaluationResults results)
        => string.Join("\n", Nodes(results).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Value}")));

    [Fact]
    public void The_checked_in_schema_file_is_what_the_package_produces()
    {
        var path = Path.Combine(RepositoryRoot, SchemaFile);
        if (Environment.GetEnvironmentVariable("BPI_UPDATE_SCHEMA") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, DeploymentDocument.JsonSchema);
        }

        Assert.True(File.Exists(path), $"{SchemaFile} is missing; write it with `BPI_UPDATE_SCHEMA=1 dotnet test tests/Bpi.Orchestration.Configuration.Tests --filter JsonSchemaTests` or `bpi-orchestration schema > {SchemaFile}`.");
        Assert.True(
            File.ReadAllText(path).ReplaceLineEndings("\n") == DeploymentDocument.JsonSchema,
            $"{SchemaFile} differs from DeploymentDocument.JsonSchema; regenerate it with `BPI_UPDATE_SCHEMA=1 dotnet test tests/Bpi.Orchestration.Configuration.Tests --filter JsonSchemaTests` and commit it.");
    }

    [Fact]
    public void The_schema_is_a_valid_draft_2020_12_schema_with_the_published_id()
    {
        using var schema = JsonDocument.Parse(DeploymentDocument.JsonSchema);

        var results = MetaSchemas.Draft202012.Evaluate(schema.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });

        Assert.True(results.IsValid, Problems(results));
        Assert.Equal(DeploymentDocument.JsonSchemaId, schema.RootElement.GetProperty("$id").GetString());
        Assert.Equal(
            StrategySpecRegistry.Registrations.SelectMany(r => r.Aliases.Prepend(r.Name)).Order(StringComparer.Ordinal),
            schema.RootElement.GetProperty("$defs").GetProperty("strategy").GetProperty("oneOf").EnumerateArray()
                .Where(b => b.TryGetProperty("properties", out _))
                .SelectMany(b => b.GetProperty("properties").GetProperty("type").GetProperty("enum").EnumerateArray().Select(n => n.GetString()!))
                .Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(AcceptedDocuments))]
    public void A_document_the_sdk_accepts_is_valid_against_the_schema(string name)
    {
        var (text, format) = Documents()[name];
        Assert.NotEmpty(DeploymentDocument.Parse(text, format, name).Components);

        var results = Evaluate(text, format);

        Assert.True(results.IsValid, Problems(results));
    }

    [Fact]
    public void Every_field_the_schema_names_is_written_in_a_document_the_sdk_accepts()
    {
        // Each object schema's properties (by schema location) against the properties the accepted documents use there.
        var declared = new HashSet<string>(StringComparer.Ordinal);
        CollectDeclared(JsonNode.Parse(DeploymentDocument.JsonSchema)!, "", declared);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (text, format) in Documents().Values)
        {
            DeploymentDocument.Parse(text, format, "doc");
            foreach (var detail in Nodes(Evaluate(text, format)).Where(d => d.IsValid && d.Annotations is not null))
            {
                if (detail.Annotations!.TryGetValue("properties", out var names))
                {
                    var location = Uri.UnescapeDataString(detail.SchemaLocation.Fragment.TrimStart('#'));
                    foreach (var property in JsonNode.Parse(names.ToString()!)!.AsArray())
                    {
                        used.Add($"{location}/properties/{property!.GetValue<string>()}");
                    }
                }
            }
        }

        var unused = declared.Except(used).Order(StringComparer.Ordinal).ToList();
        Assert.True(unused.Count == 0, "Fields of the schema no accepted document writes (the SDK may not read them):\n" + string.Join("\n", unused));
        Assert.Empty(used.Except(declared));
    }

    [Fact]
    public void The_seven_mistakes_document_breaks_the_schema_at_its_field_level_mistakes()
    {
        var results = Evaluate(EveryProblemTests.SevenMistakes, DeploymentDocumentFormat.Yaml);

        Assert.False(results.IsValid);
        var locations = Nodes(results).Where(d => d.Errors is { Count: > 0 }).Select(d => d.InstanceLocation.ToString()).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("/components/0/replicas", locations);
        Assert.Contains("/components/0/imagePullPolicy", locations);
    }

    [Theory]
    [InlineData("components: [{ id: web, image: web:1, ports: [70000] }]", "/components/0/ports/0")]
    [InlineData("components: [{ id: web }]", "/components/0")]
    [InlineData("components: [{ id: web, image: web:1 }]\nstrategy: { type: canary, steps: [{ setWeight: 10, pause: 5s }] }", "/strategy/steps/0")]
    [InlineData("components: [{ id: web, image: web:1 }]\nstrategy: { type: blue-green, trafficSteps: [{ weight: 0 }] }", "/strategy/trafficSteps/0/weight")]
    [InlineData("components: [{ id: web, image: web:1, healthCheck: { period: soon } }]", "/components/0/healthCheck/period")]
    [InlineData("components: [{ id: web, image: web:1 }]\nstrategy: { type: shuffle }", "/strategy/type")]
    public void A_document_the_sdk_refuses_for_a_field_is_invalid_against_the_schema_at_that_field(string body, string location)
    {
        var text = "name: shop\nappId: shop\n" + body;
        Assert.Throws<OrchestrationException>(() => DeploymentDocument.Parse(text, DeploymentDocumentFormat.Yaml, "doc"));

        var results = Evaluate(text, DeploymentDocumentFormat.Yaml);

        Assert.False(results.IsValid);
        Assert.Contains(Nodes(results).Where(d => d.Errors is { Count: > 0 }), d => d.InstanceLocation.ToString().StartsWith(location, StringComparison.Ordinal));
    }

    private static void CollectDeclared(JsonNode node, string location, HashSet<string> declared)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (value is null || key is "enum" or "default" or "required")
                    {
                        continue;
                    }

                    if (key == "properties" && value is JsonObject properties)
                    {
                        foreach (var (name, schema) in properties)
                        {
                            declared.Add($"{location}/properties/{name}");
                            CollectDeclared(schema!, $"{location}/properties/{name}", declared);
                        }

                        continue;
                    }

                    CollectDeclared(value, $"{location}/{key}", declared);
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is { } item)
                    {
                        CollectDeclared(item, $"{location}/{i}", declared);
                    }
                }

                break;
        }
    }
}
