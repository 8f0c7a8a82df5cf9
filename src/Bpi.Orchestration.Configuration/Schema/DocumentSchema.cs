using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Hooks;
using Bpi.Orchestration.Strategies.Rolling;

namespace Bpi.Orchestration.Configuration;

/// <summary>
/// Writes the JSON Schema (draft 2020-12) of the native deployment document, the grammar the mappers read. There is no
/// POCO to export a schema from (the mappers read the tree field by field, to list every problem at once), so the
/// schema is written here next to them, from the same sources they use: enum values from the SDK's enums (camelCase, as
/// the README writes them), strategy names and aliases from <see cref="StrategySpecRegistry"/>, defaults from the
/// model's own default instances. Tests keep the two equal both ways: every real document the mappers accept is valid,
/// every field the schema names is read by the mappers, and the checked-in <c>docs/schema/deployment.schema.json</c> is
/// this text.
/// </summary>
internal static class DocumentSchema
{
    public const string Id = "https://github.com/bpi-orchestration/bpi-orchestration/blob/main/docs/schema/deployment.schema.json";

    private const string DurationPattern = @"^\s*([0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?(ms|s|m|h)?|([0-9]+\.)?[0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)\s*$";

    private static readonly Lazy<string> s_text = new(() => Build().ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }).ReplaceLineEndings("\n") + "\n");

    /// <summary>The schema as indented JSON text with <c>\n</c> line ends and a final newline (the checked-in file's bytes).</summary>
    public static string Text => s_text.Value;

    private static JsonObject Build()
    {
        var defs = new JsonObject
        {
            ["component"] = Component(),
            ["command"] = Command(),
            ["port"] = Port(),
            ["autoscaling"] = Autoscaling(),
            ["scalingRules"] = ScalingRules(),
            ["scalingPolicy"] = ScalingPolicy(),
            ["healthCheck"] = HealthCheck(),
            ["infrastructure"] = Infrastructure(),
            ["strategy"] = Strategy(),
            ["hooks"] = Hooks(),
            ["hook"] = Hook(),
            ["canaryStep"] = CanaryStep(),
            ["trafficStep"] = TrafficStep(),
            ["analysis"] = Analysis(),
            ["metric"] = Metric(),
            ["autoscalingMetric"] = AutoscalingMetric(),
            ["condition"] = Obj("A bound on a metric's value; either or both of min and max.", null, ("min", Num("The smallest value that passes.")), ("max", Num("The largest value that passes."))),
            ["judge"] = Judge(),
            ["approvalGate"] = ApprovalGateSchema(),
            ["duration"] = new JsonObject
            {
                ["description"] = "A duration: 500ms, 5s, 2m, 1h, a number of seconds, or hh:mm:ss.",
                ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "string", ["pattern"] = DurationPattern }, new JsonObject { ["type"] = "number", ["minimum"] = 0 }),
            },
            ["text"] = new JsonObject { ["description"] = "A text value; a number or a boolean is taken as written.", ["type"] = new JsonArray("string", "number", "boolean") },
            ["textMap"] = new JsonObject { ["type"] = "object", ["additionalProperties"] = Ref("text") },
            ["stringList"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" } },
            ["url"] = new JsonObject { ["description"] = "An absolute http or https URL.", ["type"] = "string", ["pattern"] = "^[hH][tT][tT][pP][sS]?://", ["format"] = "uri" },
            ["intOrPercent"] = new JsonObject { ["description"] = "A count (2) or a percentage of the replicas (25%).", ["type"] = new JsonArray("integer", "string"), ["pattern"] = "^[0-9]+%?$", ["minimum"] = 0 },
        };

        var d = new DeploymentSpec { Name = "-", AppId = "-", Components = [] };
        var root = Obj(
            "A deployment of Bpi.Orchestration: the components to run, the infrastructure they need and the strategy that rolls a new version out. Read by DeploymentDocument.Parse (config files, HTTP bodies, tools).",
            ["name", "appId", "components"],
            ("$schema", Str("This schema's address, for editors.")),
            ("name", Str("The deployment's name.")),
            ("appId", Str("The application the deployment belongs to.")),
            ("environment", Str("The environment, for example production.", d.Environment)),
            ("type", Enum<DeploymentType>("The deployment type: it selects the component manager that serves the components (hybridInfrastructure: each component names its own type).", d.Type)),
            ("components", new JsonObject { ["description"] = "The components, each run as replicas of an image or a program.", ["type"] = "array", ["items"] = Ref("component") }),
            ("infrastructure", Ref("infrastructure")),
            ("security", Obj("Older form of infrastructure.security.encryptionLevel; write one of the two.", null, ("encryptionLevel", Enum<EncryptionLevel>("How strongly data must be encrypted.")))),
            ("strategy", Ref("strategy")),
            ("validation", Validation()),
            ("rollback", Rollback()),
            ("labels", Described(Ref("textMap"), "Free-form labels.")),
            ("enc_cluster", EncCluster()));
        var schema = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = Id,
            ["title"] = "Bpi.Orchestration deployment document",
        };
        foreach (var (key, value) in root.ToList())
        {
            root.Remove(key);
            schema[key] = value;
        }

        schema["$defs"] = defs;
        return schema;
    }

    private static JsonObject EncCluster()
    {
        var d = new EncClusterSpec();
        return Obj(
            "EncCluster settings (type EncCluster): every connection to a member is mutual TLS 1.3 with TLS_AES_256_GCM_SHA384 under certificates the orchestrator issues and rotates.",
            null,
            ("encryption_algorithm", Str("The encryption algorithm; only aes256gcm.", d.EncryptionAlgorithm)),
            ("key_rotation_interval", Dur("How often the certificates are replaced (at least 1 minute).", d.KeyRotationInterval)),
            ("cluster_size", Int("How many members each component runs; replicas must equal it.", 1, null, d.ClusterSize)),
            ("grace_period", Dur("How long the previous certificate is still accepted after a rotation.", d.GracePeriod)));
    }

    private static JsonObject Component()
    {
        var d = new ComponentSpec { Id = "-" };
        var component = Obj(
            "One component: replicas of an image (container runtimes) or of a program (the process runtime). Name image or command.",
            ["id"],
            ("id", Str("The component's id, unique in the deployment.")),
            ("type", Enum<DeploymentType>("This component's deployment type, required in a hybridInfrastructure deployment (dockLockContainer, httpCage or cueNginx); by default the deployment's type.")),
            ("image", Str("The container image, for example web:1.")),
            ("command", Ref("command")),
            ("replicas", Int("How many instances run.", 0, null, d.Replicas)),
            ("ports", new JsonObject { ["description"] = "The ports the component listens on.", ["type"] = "array", ["items"] = Ref("port") }),
            ("resources", Obj("What one replica may use.", null, ("cpuCores", Num("CPU cores per replica.", 0, null, d.Resources.CpuCores)), ("memoryMb", Int("Memory per replica, in MiB.", 0, null, d.Resources.MemoryMb)))),
            ("environment", Described(Ref("textMap"), "Environment variables.")),
            ("secrets", Described(Ref("textMap"), "Secret environment variables (never shown or logged).")),
            ("healthCheck", Ref("healthCheck")),
            ("dependsOn", new JsonObject { ["description"] = "Ids of components started before this one: one id or a list.", ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "string" }, Ref("stringList")) }),
            ("runtimeSettings", Described(Ref("textMap"), "Settings read by the runtime (for example the DockLock keys).")),
            ("autoscaling", Ref("autoscaling")));
        component["anyOf"] = new JsonArray(new JsonObject { ["required"] = new JsonArray("image") }, new JsonObject { ["required"] = new JsonArray("command") });
        return component;
    }

    private static JsonObject Autoscaling()
    {
        var d = new AutoscalingSpec { MaxReplicas = 1 };
        return Obj(
            "Horizontal autoscaling of the serving revision by the Kubernetes HPA algorithm; without a target, CPU at 80 %.",
            ["maxReplicas"],
            ("minReplicas", Int("The fewest instances.", 1, null, d.MinReplicas)),
            ("maxReplicas", Int("The most instances; at least minReplicas.", 1)),
            ("targetCpuUtilizationPercent", Int("The average CPU use to keep, in percent of resources.cpuCores.", 1, 1000)),
            ("targetMemoryUtilizationPercent", Int("The average memory use to keep, in percent of resources.memoryMb.", 1, 1000)),
            ("tolerance", Num("How far the utilisation may stray from its target (a fraction of it) before the count changes.", 0, 1, d.Tolerance)),
            ("scaleUp", Described(Ref("scalingRules"), "How fast instances are added; default: no window, +100 % or +4 per 15s, whichever is more.")),
            ("scaleDown", Described(Ref("scalingRules"), "How fast instances are removed; default: a 300s window, then -100 % per 15s.")),
            ("metrics", new JsonObject
            {
                ["description"] = "Custom metrics (any registered metric provider, such as Prometheus); the largest proposal over every target wins.",
                ["type"] = "array",
                ["items"] = Ref("autoscalingMetric"),
            }));
    }

    private static JsonObject ScalingRules() => Obj(
        "A stabilisation window and rate policies for one direction; what is left out keeps the direction's default.",
        null,
        ("stabilizationWindow", Dur("How far back recommendations are remembered (at most 1h).")),
        ("selectPolicy", Enum<AutoscalingSelectPolicy>("Which policy wins: the largest change, the smallest, or none.")),
        ("policies", new JsonObject
        {
            ["description"] = "Rate limits: at most value instances (pods) or percent per period.",
            ["type"] = "array",
            ["items"] = Ref("scalingPolicy"),
        }));

    private static JsonObject ScalingPolicy() => Obj(
        "One rate limit.",
        ["type", "value", "period"],
        ("type", Enum<AutoscalingPolicyType>("What value counts.")),
        ("value", Int("The change allowed per period.", 1)),
        ("period", Dur("The period (1s to 30m).")));

    private static JsonObject Command() => new()
    {
        ["description"] = "The program to run: a path (a .dll runs with dotnet), a list [program, argument, ...], or an object.",
        ["anyOf"] = new JsonArray(
            new JsonObject { ["type"] = "string", ["minLength"] = 1 },
            new JsonObject { ["type"] = "array", ["minItems"] = 1, ["prefixItems"] = new JsonArray(new JsonObject { ["type"] = "string" }), ["items"] = new JsonObject { ["type"] = new JsonArray("string", "number") } },
            Obj(null, ["fileName"], ("fileName", Str("The program.")), ("arguments", new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = new JsonArray("string", "number") } }), ("workingDirectory", Str("The working directory.")))),
    };

    private static JsonObject Port() => new()
    {
        ["description"] = "A port number, or an object with containerPort.",
        ["anyOf"] = new JsonArray(
            Int(null, 1, 65535),
            Obj(null, ["containerPort"], ("name", Str("The port's name.", new PortSpec { ContainerPort = 1 }.Name)), ("containerPort", Int("The port the component listens on.", 1, 65535)), ("protocol", Enum<PortProtocol>("The protocol.", PortProtocol.Tcp)))),
    };

    private static JsonObject HealthCheck()
    {
        var d = new HealthCheckSpec();
        return Obj(
            "How readiness is probed. The timeout may not exceed the period; unset it is 1s or the period when shorter.",
            null,
            ("type", Enum<HealthCheckKind>("The kind of probe.", d.Kind)),
            ("path", Str("The HTTP path probed.", d.Path)),
            ("port", Int("The port probed; unset, the component's first port.", 1, 65535)),
            ("command", Described(ArgumentList(), "The command run in the instance by an exec probe.")),
            ("grpcService", Str("The gRPC service whose health is asked.")),
            ("initialDelay", Dur("The time before the first probe.", d.InitialDelay)),
            ("period", Dur("The time between probes.", d.Period)),
            ("timeout", Dur("How long one probe may take; at most the period.")),
            ("failureThreshold", Int("Failed probes in a row that make an instance unready.", 1, null, d.FailureThreshold)),
            ("successThreshold", Int("Passed probes in a row that make an instance ready.", 1, null, d.SuccessThreshold)),
            ("expectedStatusMin", Int("The lowest HTTP status that passes.", 100, 599, d.ExpectedStatusMin)),
            ("expectedStatusMax", Int("The highest HTTP status that passes.", 100, 599, d.ExpectedStatusMax)),
            ("headers", Described(Ref("textMap"), "HTTP headers sent with each probe.")));
    }

    private static JsonObject Validation()
    {
        var d = new ValidationSettings();
        return Obj(
            "How a new version is judged ready.",
            null,
            ("healthValidation", Bool("Whether health checks gate the rollout.", d.HealthValidation)),
            ("progressDeadline", Dur("How long a rollout may go without progress.", d.ProgressDeadline)),
            ("minReadyTime", Dur("How long an instance must stay ready.", d.MinReadyTime)),
            ("pollInterval", Dur("How often readiness is checked.", d.PollInterval)));
    }

    private static JsonObject Rollback()
    {
        var d = new RollbackSettings();
        return Obj(
            "When and how far the deployment rolls back.",
            null,
            ("automatic", Bool("Whether a failed rollout rolls back by itself.", d.Automatic)),
            ("historyLimit", Int("How many earlier revisions are kept.", 1, null, d.HistoryLimit)),
            ("healthFailureRateTrigger", Num("The share of failed health checks (0-1) that triggers a rollback.", 0, 1, d.HealthFailureRateTrigger)));
    }

    private static JsonObject Infrastructure() => Obj(
        "What the whole deployment needs: resources, the network and security.",
        null,
        ("resources", Obj(
            "Resources reserved for the whole deployment.",
            null,
            ("cpuCores", Num("CPU cores.", 0)),
            ("memoryMb", Int("Memory, in MiB.", 0)),
            ("storageGb", Num("Storage, in GB.", 0)),
            ("networkBandwidthMbps", Num("Network bandwidth, in Mbit/s.", 0)))),
        ("network", Obj(
            "The network: a VPC, its subnets (inside the VPC) and security groups.",
            null,
            ("vpcCidr", Str("The VPC's address range, for example 10.0.0.0/16.")),
            ("subnetCidrs", Described(Ref("stringList"), "Subnets, each inside the VPC.")),
            ("securityGroups", Described(Ref("stringList"), "Security groups.")))),
        ("security", Obj(
            "Encryption, access control and the security profile.",
            null,
            ("encryptionLevel", Enum<EncryptionLevel>("How strongly data must be encrypted.", new SecurityConfig().EncryptionLevel)),
            ("accessControl", Obj(
                "Who may deploy.",
                null,
                ("model", Enum<AccessControlModel>("The access-control model.", new AccessControlConfig().Model)),
                ("roles", Described(Ref("stringList"), "Roles allowed to deploy.")),
                ("attributes", Described(Ref("textMap"), "Attributes required of a deployer.")))),
            ("securityProfile", Str("The named security profile to apply.")))));

    /// <summary>One branch per strategy the mappers read, its <c>type</c> being the registered name and aliases.</summary>
    private static JsonObject Strategy()
    {
        var rolling = new RollingStrategySpec();
        var canary = new CanaryStrategySpec();
        var blueGreen = new BlueGreenStrategySpec();
        return new JsonObject
        {
            ["description"] = "How a new version is rolled out; type is a registered strategy name. Without one, recreate.",
            ["oneOf"] = new JsonArray(
                new JsonObject { ["type"] = "object", ["maxProperties"] = 0 },
                Obj("Stop the old version, then start the new one.", ["type"], ("type", TypeOf<RecreateStrategySpec>())),
                Obj(
                    "Replace instances in batches.",
                    ["type"],
                    ("type", TypeOf<RollingStrategySpec>()),
                    ("maxSurge", Described(Ref("intOrPercent"), $"Instances above the desired count during the rollout (default {rolling.MaxSurge}).")),
                    ("maxUnavailable", Described(Ref("intOrPercent"), $"Instances below the desired count during the rollout (default {rolling.MaxUnavailable}).")),
                    ("batchSize", Int("Instances replaced per batch.", 1)),
                    ("pauseBetweenBatches", Dur("The wait between batches.", rolling.PauseBetweenBatches)),
                    ("hooks", Ref("hooks"))),
                Obj(
                    "Shift traffic to the new version step by step, with analyses and approvals between.",
                    ["type"],
                    ("type", TypeOf<CanaryStrategySpec>()),
                    ("steps", new JsonObject { ["description"] = "The steps, in order; without them, stepWeight up to maxWeight every interval.", ["type"] = "array", ["items"] = Ref("canaryStep") }),
                    ("stepWeight", Int("The weight added per step (shorthand without steps).")),
                    ("maxWeight", Int("The last weight before promotion (shorthand).", null, null, canary.MaxWeight)),
                    ("interval", Dur("The wait between shorthand steps.", canary.Interval)),
                    ("analysis", Described(Ref("analysis"), "An analysis run after each shorthand step.")),
                    ("analysisComponent", Str("The component the analysis measures.")),
                    ("hooks", Ref("hooks"))),
                Obj(
                    "Start the new version beside the old, then switch traffic over (at once or in trafficSteps).",
                    ["type"],
                    ("type", TypeOf<BlueGreenStrategySpec>()),
                    ("previewReplicas", Int("Replicas of the preview (new) version.", 0)),
                    ("previewRoute", Bool("Whether the preview gets a route of its own.", blueGreen.PreviewRoute)),
                    ("prePromotionAnalysis", Described(Ref("analysis"), "An analysis of the preview before promotion.")),
                    ("postPromotionAnalysis", Described(Ref("analysis"), "An analysis after promotion.")),
                    ("promotion", Enum<BlueGreenPromotion>("When the preview is promoted.", blueGreen.Promotion)),
                    ("autoPromotionDelay", Dur("The wait before an automatic promotion.", blueGreen.AutoPromotionDelay)),
                    ("scaleDownDelay", Dur("The wait before the old version is scaled down.", blueGreen.ScaleDownDelay)),
                    ("trafficSteps", new JsonObject { ["description"] = "Traffic shifted to the new version in steps.", ["type"] = "array", ["items"] = Ref("trafficStep") }),
                    ("analysisComponent", Str("The component the analyses measure.")),
                    ("hooks", Ref("hooks")))),
        };
    }

    private static JsonObject Hooks() => Obj(
        "Webhooks called around the rollout.",
        null,
        ("preRollout", new JsonObject { ["description"] = "Called before the rollout starts.", ["type"] = "array", ["items"] = Ref("hook") }),
        ("postRollout", new JsonObject { ["description"] = "Called after the rollout completes.", ["type"] = "array", ["items"] = Ref("hook") }),
        ("onAbort", new JsonObject { ["description"] = "Called when the rollout is aborted.", ["type"] = "array", ["items"] = Ref("hook") }));

    private static JsonObject Hook()
    {
        var d = new HookSpec { Name = "-" };
        return Obj(
            "One hook.",
            ["name"],
            ("name", Str("The hook's name.")),
            ("url", Described(Ref("url"), "The URL posted to.")),
            ("timeout", Dur("How long the call may take.", d.Timeout)),
            ("failOnError", Bool("Whether a failed call fails the rollout.")));
    }

    /// <summary>A canary step is an object with exactly one of setWeight, pause, analysis, approval.</summary>
    private static JsonObject CanaryStep() => new()
    {
        ["description"] = "One canary step: setWeight, pause (pause: {} waits for promote), analysis or approval.",
        ["oneOf"] = new JsonArray(
            Obj(null, ["setWeight"], ("setWeight", Int("The share of traffic (percent) sent to the new version.", 0, 100))),
            Obj(null, ["pause"], ("pause", new JsonObject
            {
                ["description"] = "A wait; {} (or null) waits until promoted.",
                ["anyOf"] = new JsonArray(Ref("duration"), new JsonObject { ["type"] = "object", ["maxProperties"] = 0 }, new JsonObject { ["type"] = "null" }),
            })),
            Obj(null, ["analysis"], ("analysis", Ref("analysis"))),
            Obj(null, ["approval"], ("approval", Ref("approvalGate")))),
    };

    private static JsonObject TrafficStep() => Obj(
        "One blue-green traffic step.",
        ["weight"],
        ("weight", Int("The share of traffic (percent) sent to the new version.", 1, 100)),
        ("duration", Dur("How long the step holds.", TimeSpan.Zero)),
        ("analysis", Described(Ref("analysis"), "An analysis run during the step.")));

    private static JsonObject Analysis() => Obj(
        "An analysis: metrics and, optionally, the statistical judge comparing the new revision with the stable one.",
        null,
        ("name", Str("The analysis's name.", new AnalysisSpec().Name)),
        ("metrics", new JsonObject { ["type"] = "array", ["items"] = Ref("metric") }),
        ("judge", Ref("judge")));

    /// <summary>A metric is built-in (<c>metric</c>), Prometheus (<c>prometheus</c>) or JSON (<c>json</c>), with the same measuring fields.</summary>
    private static JsonObject Metric()
    {
        var d = new MetricSpec { Name = "-", Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) };
        (string, JsonNode)[] common =
        [
            ("name", Str("The metric's name.")),
            ("count", Int("How many measurements are taken.", 1, null, d.Count)),
            ("interval", Dur("The time between measurements.", d.Interval)),
            ("initialDelay", Dur("The wait before the first measurement.", d.InitialDelay)),
            ("successCondition", Described(Ref("condition"), "What a passing measurement is.")),
            ("failureCondition", Described(Ref("condition"), "What a failing measurement is.")),
            ("failureLimit", Int("Failed measurements tolerated.", 0, null, d.FailureLimit)),
            ("inconclusiveLimit", Int("Inconclusive measurements tolerated.", 0, null, d.InconclusiveLimit)),
            ("consecutiveErrorLimit", Int("Measurement errors in a row tolerated.", 0, null, d.ConsecutiveErrorLimit)),
        ];
        return MetricQueries("One metric: built-in (metric), a Prometheus query (prometheus) or a JSON endpoint (json).", common);
    }

    /// <summary>A custom autoscaling metric: a query as an analysis metric has, and the value to keep.</summary>
    private static JsonObject AutoscalingMetric() => MetricQueries(
        "A custom autoscaling metric: a built-in metric, a Prometheus query or a JSON endpoint, and exactly one of targetAverageValue and targetValue.",
        [
            ("name", Str("The metric's name (not cpu or memory; unique in the component).")),
            ("targetAverageValue", Num("The value to keep per instance: the query's total divided by the instances.")),
            ("targetValue", Num("The value to keep for the query as it is.")),
        ]);

    /// <summary>The three kinds of query (built-in <c>metric</c>, <c>prometheus</c>, <c>json</c>), each with <paramref name="common"/>.</summary>
    private static JsonObject MetricQueries(string description, (string, JsonNode)[] common)
    {
        var builtIn = new BuiltInMetricQuery(BuiltInMetric.SuccessRate);
        var prometheus = new PrometheusMetricQuery(new Uri("http://-"), "-");
        var json = new JsonMetricQuery(new Uri("http://-"), "-");
        return new JsonObject
        {
            ["description"] = description,
            ["oneOf"] = new JsonArray(
                Obj(
                    "A built-in metric measured by sending requests to the instances.",
                    ["name", "metric"],
                    [
                        .. common,
                        ("metric", Enum<BuiltInMetric>("What is measured.")),
                        ("revision", Enum<AnalysisRevision>("Which revision is measured.", builtIn.Revision)),
                        ("requests", Int("Requests sent per measurement.", 1, null, builtIn.Requests)),
                        ("path", Str("The path requested.", builtIn.Path)),
                    ]),
                Obj(
                    "A Prometheus query.",
                    ["name", "prometheus"],
                    [
                        .. common,
                        ("prometheus", Obj(null, ["address", "query"], ("address", Described(Ref("url"), "The Prometheus server.")), ("query", Str("The PromQL query.")), ("timeout", Dur("How long the query may take.", prometheus.Timeout)))),
                    ]),
                Obj(
                    "A value read from a JSON endpoint.",
                    ["name", "json"],
                    [
                        .. common,
                        ("json", Obj(null, ["url", "jsonPath"], ("url", Described(Ref("url"), "The endpoint.")), ("jsonPath", Str("Where the value is, for example $.errors.rate.")), ("headers", Described(Ref("textMap"), "HTTP headers sent.")), ("timeout", Dur("How long the request may take.", json.Timeout)))),
                    ])),
        };
    }

    private static JsonObject Judge()
    {
        var d = new StatisticalJudgeSpec();
        return Obj(
            "The statistical judge: compares latency and error rate of the new revision with the stable one. judge: {} uses every default.",
            null,
            ("samplesPerRevision", Int("Requests sampled per revision.", 1, null, d.SamplesPerRevision)),
            ("minimumSampleSize", Int("Samples needed for a verdict.", 1, null, d.MinimumSampleSize)),
            ("confidence", Num("The statistical confidence.", null, null, d.Confidence)),
            ("allowedLatencyIncrease", Num("The latency ratio tolerated.", null, null, d.AllowedLatencyIncrease)),
            ("allowedErrorRateIncrease", Num("The error-rate increase tolerated.", null, null, d.AllowedErrorRateIncrease)),
            ("latencyWeight", Num("The weight of latency in the score.", null, null, d.LatencyWeight)),
            ("errorRateWeight", Num("The weight of the error rate in the score.", null, null, d.ErrorRateWeight)),
            ("marginalScore", Num("The score below which the revision fails.", null, null, d.MarginalScore)),
            ("passScore", Num("The score at which the revision passes.", null, null, d.PassScore)),
            ("path", Str("The path requested.", d.Path)));
    }

    private static JsonObject ApprovalGateSchema()
    {
        var d = new ApprovalGate { Name = "-" };
        return Obj(
            "An approval gate: people approve (manual), or a webhook answers.",
            ["name"],
            ("name", Str("The gate's name.")),
            ("requiredApprovals", Int("Approvals needed.", 1, null, d.RequiredApprovals)),
            ("approverMustDifferFromRequester", Bool("Whether the requester may not approve.", d.ApproverMustDifferFromRequester)),
            ("timeout", Dur("How long the gate waits.")),
            ("escalation", Enum<GateEscalation>("What happens at the timeout.", d.Escalation)),
            ("webhook", Described(Ref("url"), "A URL asked for the decision.")),
            ("webhookInterval", Dur("How often the webhook is asked.", d.WebhookInterval)));
    }

    // The building blocks.

    /// <summary>An object with only the named properties (the mappers refuse every other field).</summary>
    private static JsonObject Obj(string? description, string[]? required, params (string Name, JsonNode Schema)[] properties)
    {
        var obj = new JsonObject();
        if (description is not null)
        {
            obj["description"] = description;
        }

        obj["type"] = "object";
        var props = new JsonObject();
        foreach (var (name, schema) in properties)
        {
            // A node shared by several objects (the fields every metric has) is copied into each.
            props[name] = schema.Parent is null ? schema : schema.DeepClone();
        }

        obj["properties"] = props;
        if (required is { Length: > 0 })
        {
            obj["required"] = new JsonArray([.. required.Select(r => (JsonNode)r)]);
        }

        obj["additionalProperties"] = false;
        return obj;
    }

    private static JsonObject Ref(string definition) => new() { ["$ref"] = "#/$defs/" + definition };

    private static JsonObject Described(JsonObject schema, string description)
    {
        schema["description"] = description;
        return schema;
    }

    private static JsonObject Leaf(string? description, JsonObject schema, JsonNode? defaultValue)
    {
        var leaf = new JsonObject();
        if (description is not null)
        {
            leaf["description"] = description;
        }

        foreach (var (key, value) in schema.ToList())
        {
            schema.Remove(key);
            leaf[key] = value;
        }

        if (defaultValue is not null)
        {
            leaf["default"] = defaultValue;
        }

        return leaf;
    }

    private static JsonObject Str(string description, string? defaultValue = null) => Leaf(description, new JsonObject { ["type"] = "string" }, defaultValue);

    private static JsonObject Bool(string description, bool? defaultValue = null) => Leaf(description, new JsonObject { ["type"] = "boolean" }, defaultValue);

    private static JsonObject Int(string? description, int? min = null, int? max = null, int? defaultValue = null)
    {
        var schema = new JsonObject { ["type"] = "integer" };
        if (min is { } lo)
        {
            schema["minimum"] = lo;
        }

        if (max is { } hi)
        {
            schema["maximum"] = hi;
        }

        return Leaf(description, schema, defaultValue);
    }

    private static JsonObject Num(string description, double? min = null, double? max = null, double? defaultValue = null)
    {
        var schema = new JsonObject { ["type"] = "number" };
        if (min is { } lo)
        {
            schema["minimum"] = lo;
        }

        if (max is { } hi)
        {
            schema["maximum"] = hi;
        }

        return Leaf(description, schema, defaultValue);
    }

    private static JsonObject Dur(string description, TimeSpan? defaultValue = null)
    {
        var schema = Described(Ref("duration"), description);
        if (defaultValue is { } d)
        {
            schema["default"] = FormatDuration(d);
        }

        return schema;
    }

    /// <summary>Enum values as the README writes them (camelCase); the mappers also accept other cases and <c>-</c>/<c>_</c>.</summary>
    private static JsonObject Enum<TEnum>(string description, TEnum? defaultValue = null)
        where TEnum : struct, System.Enum
        => Leaf(description, new JsonObject { ["enum"] = new JsonArray([.. System.Enum.GetNames<TEnum>().Select(n => (JsonNode)ConfigObject.CamelCase(n))]) }, defaultValue is { } v ? ConfigObject.CamelCase(v.ToString()) : null);

    private static JsonObject TypeOf<TSpec>()
        where TSpec : StrategySpec
    {
        if (!StrategySpecRegistry.TryGet(typeof(TSpec), out var registration))
        {
            throw new InvalidOperationException($"{typeof(TSpec).Name} is not registered in StrategySpecRegistry.");
        }

        return new JsonObject { ["description"] = "The strategy's registered name (or an alias).", ["enum"] = new JsonArray([.. registration.Aliases.Prepend(registration.Name).Select(n => (JsonNode)n)]) };
    }

    private static JsonObject ArgumentList() => new() { ["type"] = "array", ["items"] = new JsonObject { ["type"] = new JsonArray("string", "number") } };

    /// <summary>A duration as documents write it: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>.</summary>
    internal static string FormatDuration(TimeSpan duration)
    {
        if (duration.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            return duration.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        return duration.TotalHours >= 1 && duration.Ticks % TimeSpan.TicksPerHour == 0 ? duration.TotalHours.ToString(CultureInfo.InvariantCulture) + "h"
            : duration.TotalMinutes >= 1 && duration.Ticks % TimeSpan.TicksPerMinute == 0 ? duration.TotalMinutes.ToString(CultureInfo.InvariantCulture) + "m"
            : duration.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s";
    }
}
