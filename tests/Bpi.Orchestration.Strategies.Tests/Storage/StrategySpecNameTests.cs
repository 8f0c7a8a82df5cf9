using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Rolling;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Storage;

/// <summary>Strategy specs are stored by their registered name and read back by it (or an alias), for every registered strategy.</summary>
public sealed class StrategySpecNameTests
{
    private static readonly AnalysisSpec Analysis = new()
    {
        Metrics = [new MetricSpec { Name = "success", Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 20 }, SuccessCondition = new MetricCondition(0.95, null) }],
    };

    /// <summary>A spec with non-default settings for every registered name; a strategy registered without one here fails <see cref="Every_registered_strategy_has_a_round_trip_sample"/>.</summary>
    private static readonly Dictionary<string, StrategySpec> Samples = new(StringComparer.Ordinal)
    {
        ["recreate"] = new RecreateStrategySpec(),
        ["rolling"] = new RollingStrategySpec { MaxSurge = IntOrPercent.Count(2), MaxUnavailable = IntOrPercent.Percent(0), BatchSize = 2, PauseBetweenBatches = TimeSpan.FromSeconds(3) },
        ["canary"] = new CanaryStrategySpec
        {
            Steps = [new CanaryStep.SetWeight(10), new CanaryStep.Analyze(Analysis), new CanaryStep.Approval(new ApprovalGate { Name = "prod", Webhook = new Uri("https://gate.local/ok"), Escalation = GateEscalation.Approve, Timeout = TimeSpan.FromMinutes(5) }), new CanaryStep.Pause(null)],
            AnalysisComponent = "web",
        },
        ["blue-green"] = new BlueGreenStrategySpec { PreviewReplicas = 2, PreviewRoute = false, Promotion = BlueGreenPromotion.Manual, TrafficSteps = [new TrafficSwitchStep(50) { Duration = TimeSpan.FromMinutes(1), Analysis = Analysis }], PostPromotionAnalysis = Analysis },
    };

    public static TheoryData<string> RegisteredNames()
    {
        var data = new TheoryData<string>();
        foreach (var registration in StrategySpecRegistry.Registrations)
        {
            data.Add(registration.Name);
        }

        return data;
    }

    [Fact]
    public void Every_registered_strategy_has_a_round_trip_sample()
        => Assert.Equal(StrategySpecRegistry.Registrations.Select(r => r.Name).Order(StringComparer.Ordinal), Samples.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(RegisteredNames))]
    public void A_strategy_spec_is_stored_by_its_registered_name_and_reads_back_equal(string name)
    {
        var spec = Samples[name];

        var bytes = DeploymentJson.Serialize(Record(spec));
        var stored = JsonNode.Parse(bytes)!["revisions"]![0]!["spec"]!["strategy"]!.AsObject();
        var read = DeploymentJson.Deserialize(bytes).Revisions[0].Spec.Strategy;

        Assert.Equal(name, (string?)stored["strategy"]);
        Assert.False(stored.ContainsKey("type"), "no .NET type name is stored");
        Assert.IsType(spec.GetType(), read);
        Assert.Equal(Settings(spec), Settings(read));
    }

    [Theory]
    [InlineData("blueGreen", typeof(BlueGreenStrategySpec))]
    [InlineData("BLUE-GREEN", typeof(BlueGreenStrategySpec))]
    [InlineData("rollingUpdate", typeof(RollingStrategySpec))]
    [InlineData("Canary", typeof(CanaryStrategySpec))]
    public void A_stored_strategy_is_read_by_alias_ignoring_case(string stored, Type expected)
    {
        var json = Encoding.UTF8.GetString(DeploymentJson.Serialize(Record(new RecreateStrategySpec())))
            .Replace("\"strategy\": \"recreate\"", $"\"strategy\": \"{stored}\"", StringComparison.Ordinal);

        var read = DeploymentJson.Deserialize(Encoding.UTF8.GetBytes(json)).Revisions[0].Spec.Strategy;

        Assert.IsType(expected, read);
    }

    [Fact]
    public void An_unregistered_strategy_name_is_refused_naming_the_registered_ones()
    {
        var json = Encoding.UTF8.GetString(DeploymentJson.Serialize(Record(new RecreateStrategySpec())))
            .Replace("\"strategy\": \"recreate\"", "\"strategy\": \"teleport\"", StringComparison.Ordinal);

        var error = Assert.Throws<OrchestrationException>(() => DeploymentJson.Deserialize(Encoding.UTF8.GetBytes(json)));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("'teleport' is not registered", error.Message, StringComparison.Ordinal);
        Assert.Contains("blue-green, canary, recreate or rolling", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unregistered_spec_type_is_refused_when_stored()
    {
        var error = Assert.Throws<OrchestrationException>(() => DeploymentJson.Serialize(Record(new UnregisteredSpec())));

        Assert.Contains("StrategySpecRegistry.Register<UnregisteredSpec>(\"unregistered\")", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_taken_by_another_spec_type_cannot_be_registered()
    {
        var error = Assert.Throws<OrchestrationException>(() => StrategySpecRegistry.Register<UnregisteredSpec>("unregistered", "blueGreen"));

        Assert.Contains("'blueGreen' already stands for BlueGreenStrategySpec", error.Message, StringComparison.Ordinal);
        Assert.False(StrategySpecRegistry.TryGet("unregistered", out _), "a refused registration registers nothing");
    }

    private static string Settings(StrategySpec spec) => JsonSerializer.Serialize(spec, spec.GetType(), DeploymentJson.Options);

    private static DeploymentRecord Record(StrategySpec strategy)
    {
        var now = DateTimeOffset.Parse("2026-12-04T15:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        return new DeploymentRecord { Id = "web-1", State = DeploymentState.Running, Revisions = [new RevisionSpec(1, Specs.Web(3, "web:1", strategy))], CreatedAt = now, UpdatedAt = now, CreatedBy = "alice" };
    }

    private sealed record UnregisteredSpec : StrategySpec
    {
        public override string Name => "unregistered";
    }
}
