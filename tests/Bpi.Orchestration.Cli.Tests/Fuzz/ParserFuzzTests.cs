using System.Text;
using Bpi.Orchestration.Cli.Config;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;
using Xunit;
using Xunit.Abstractions;

namespace Bpi.Orchestration.Cli.Tests.Fuzz;

/// <summary>
/// The fuzz suite: each parser that reads input from outside (config documents, stored deployment records) replays its
/// corpus (<c>Fuzz/Corpus/&lt;parser&gt;/</c>, the hostile cases found so far) and then 10,000 generated hostile
/// documents, and must return or refuse each with a typed error, in bounded time and memory.
/// Run alone: <c>dotnet test tests/Bpi.Orchestration.Cli.Tests --filter "FullyQualifiedName~Fuzz" --logger "console;verbosity=detailed"</c>.
/// </summary>
public sealed class ParserFuzzTests(ITestOutputHelper output)
{
    public const int GeneratedCases = 10_000;

    private const string RollingYaml = """
        name: api
        appId: shop
        components:
          - id: api
            image: shop/api:1
            replicas: 4
            ports: [8080]
            environment: { VERSION: 1.10, DEBUG: true }
            healthCheck: { type: http, path: /health, period: 1s }
        strategy: { type: rolling, maxSurge: 25%, maxUnavailable: 0, batchSize: 2, pauseBetweenBatches: 10s }
        """;

    private const string BlueGreenYaml = """
        name: api
        appId: shop
        components: [{ id: api, command: { fileName: /bin/sleep, arguments: [600] }, dependsOn: [] }]
        strategy: { type: blueGreen, promotion: manual, autoPromotionDelay: 1m, scaleDownDelay: 30s, previewReplicas: 1 }
        validation: { healthValidation: true, progressDeadline: 10m, minReadyTime: 0s, pollInterval: 1s }
        rollback: { automatic: true, historyLimit: 10, healthFailureRateTrigger: 0.5 }
        security: { encryptionLevel: high }
        """;

    private static readonly ConfigOverrides NoOverrides = new();

    /// <summary>Every parser under fuzz. Add a parser here (and a corpus folder named after it).</summary>
    public static IReadOnlyList<ParserUnderFuzz> Parsers { get; } =
    [
        new("yaml-config", text => DeploymentConfigLoader.Load(text, json: false, "fuzz.yaml", "/tmp/fuzz", NoOverrides), [ConfigTests.ValidYaml, RollingYaml, BlueGreenYaml], Json: false)
        {
            BuiltInCases =
            [
                ("flow lists 50,000 deep", new string('[', 50_000) + new string(']', 50_000)),
                ("flow lists 200,000 deep", new string('[', 200_000) + new string(']', 200_000)),
                ("flow objects 50,000 deep", string.Concat(Enumerable.Repeat("{a: ", 50_000)) + "1" + new string('}', 50_000)),
                ("unclosed flow lists 200,000 deep", new string('[', 200_000)),
                ("billion laughs 9 x 10", BillionLaughs(9, 10)),
                ("document over 1 MiB", "name: web\nappId: shop\nlabels: { a: \"" + new string('x', 1_100_000) + "\" }\n"),
                ("list of 12,000 ports", "name: web\nappId: shop\ncomponents: [{ id: web, image: x, ports: [" + string.Join(", ", Enumerable.Repeat("8080", 12_000)) + "] }]\n"),
            ],
        },
        new("json-config", text => DeploymentConfigLoader.Load(text, json: true, "fuzz.json", "/tmp/fuzz", NoOverrides), [ConfigTests.ValidJson], Json: true)
        {
            BuiltInCases =
            [
                ("arrays 200,000 deep", new string('[', 200_000) + new string(']', 200_000)),
                ("document over 1 MiB", "{\"name\": \"" + new string('x', 1_100_000) + "\"}"),
            ],
        },
        new("deployment-record", text => DeploymentJson.Deserialize(Encoding.UTF8.GetBytes(text)), [StoredRecord()], Json: true)
        {
            BuiltInCases =
            [
                ("arrays 200,000 deep", new string('[', 200_000) + new string(']', 200_000)),
                ("record over 16 MiB", "{\"id\": \"" + new string('x', 17 * 1024 * 1024) + "\"}"),
            ],
        },
    ];

    public static TheoryData<string> ParserNames => [.. Parsers.Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(ParserNames))]
    public void A_parser_returns_or_refuses_with_a_typed_error_every_hostile_document_in_bounded_time_and_memory(string parserName)
    {
        var parser = Parsers.Single(p => p.Name == parserName);

        var stats = FuzzRunner.Run(parser, GeneratedCases, Path.Combine(AppContext.BaseDirectory, "Fuzz", "Corpus"));

        output.WriteLine(stats.Summary());
        if (Environment.GetEnvironmentVariable("BPI_FUZZ_REPORT") is { Length: > 0 } report)
        {
            // CI prints this file after the run: the per-parser figures (cases, crashes, hangs, worst memory) in its log.
            File.AppendAllText(report, stats.Summary() + Environment.NewLine);
        }

        Assert.True(stats.Failures.Count == 0, stats.Summary() + "\n" + string.Join("\n\n", stats.Failures.Take(20)));
        Assert.True(stats.Cases >= GeneratedCases, stats.Summary());
    }

    private static string BillionLaughs(int levels, int width)
    {
        var lines = new List<string> { $"a0: &a0 [{string.Join(", ", Enumerable.Repeat("lol", width))}]" };
        for (var i = 1; i < levels; i++)
        {
            lines.Add($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", width))}]");
        }

        return string.Join('\n', lines) + "\nname: x\nappId: y\ncomponents: [{id: w, command: /bin/sleep}]\n";
    }

    private static string StoredRecord()
    {
        var spec = DeploymentConfigLoader.Load(ConfigTests.ValidYaml, json: false, "web.yaml", "/tmp", NoOverrides);
        var record = new DeploymentRecord
        {
            Id = "web-1",
            State = DeploymentState.Deploying,
            Revisions = [new RevisionSpec(1, spec), new RevisionSpec(2, spec with { Labels = new Dictionary<string, string> { ["team"] = "web" } })],
            StableRevision = 1,
            TargetRevision = 2,
            Cursor = new RolloutCursor(RolloutKind.Rollout, 1, 2, 3, 7),
            CreatedAt = new DateTimeOffset(2026, 11, 22, 8, 0, 0, TimeSpan.Zero),
            UpdatedAt = new DateTimeOffset(2026, 11, 22, 8, 1, 0, TimeSpan.Zero),
            CreatedBy = "alice",
        };
        return Encoding.UTF8.GetString(DeploymentJson.Serialize(record));
    }
}
