using System.Text.Json;
using System.Text.Json.Serialization;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Cli.Output;

/// <summary>
/// One deployment as the CLI prints it, and the stable JSON shape of <c>status --output json</c> (documented in the
/// CLI README: fields are only ever added, never renamed or removed; enums are their names, times ISO 8601).
/// </summary>
internal sealed record DeploymentView
{
    /// <summary>Where a view came from.</summary>
    public static class Sources
    {
        /// <summary>From the orchestrator running in this process.</summary>
        public const string Orchestrator = "orchestrator";

        /// <summary>From the live file of another process that holds the state directory (a rollout in progress there).</summary>
        public const string Live = "live";

        /// <summary>From the stored record and the process runtime (no orchestrator runs); traffic weights are not known.</summary>
        public const string Store = "store";

        /// <summary>From the stored record only: another process holds the state directory and has not published this deployment.</summary>
        public const string Record = "record";
    }

    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string AppId { get; init; }

    public required string Environment { get; init; }

    public required string Type { get; init; }

    public required string State { get; init; }

    public required string Strategy { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? CompletedAt { get; init; }

    public required int Progress { get; init; }

    public string? CurrentStep { get; init; }

    public int? StableRevision { get; init; }

    public int? TargetRevision { get; init; }

    public string? Message { get; init; }

    public IReadOnlyList<ComponentView> Components { get; init; } = [];

    public required string Source { get; init; }

    public static DeploymentView From(DeploymentStatus status, string source) => new()
    {
        Id = status.Id,
        Name = status.Name,
        AppId = status.AppId,
        Environment = status.Environment,
        Type = status.Type.ToString(),
        State = status.State.ToString(),
        Strategy = status.Strategy,
        CreatedAt = status.CreatedAt,
        CompletedAt = status.CompletedAt,
        Progress = status.Progress,
        CurrentStep = status.CurrentStep,
        StableRevision = status.StableRevision,
        TargetRevision = status.TargetRevision,
        Message = status.Message,
        Source = source,
        Components = [.. status.Components.Select(c => new ComponentView
        {
            Id = c.Id,
            DesiredReplicas = c.DesiredReplicas,
            WeightsApproximated = c.WeightsApproximated,
            Revisions = [.. c.Instances.Select(i => i.Revision).Union(c.TrafficWeights.Keys).Order().Select(r => new RevisionView
            {
                Revision = r,
                Instances = c.Instances.FirstOrDefault(i => i.Revision == r)?.Total ?? 0,
                Ready = c.Instances.FirstOrDefault(i => i.Revision == r)?.Running ?? 0,
                Weight = c.TrafficWeights.Count == 0 ? null : c.TrafficWeights.GetValueOrDefault(r),
            })],
        })],
    };

    /// <summary>A view from a stored record and the instances the runtime reports (no orchestrator runs): no traffic weights.</summary>
    public static DeploymentView From(DeploymentRecord record, IReadOnlyList<WorkloadInstance> instances, string source = Sources.Store)
    {
        var spec = record.CurrentSpec;
        var settled = record.State.IsSettled();
        return new()
        {
            Id = record.Id,
            Name = spec.Name,
            AppId = spec.AppId,
            Environment = spec.Environment,
            Type = spec.Type.ToString(),
            State = record.State.ToString(),
            Strategy = spec.Strategy.Name,
            CreatedAt = record.CreatedAt,
            CompletedAt = record.CompletedAt,
            Progress = settled
                ? record.State is DeploymentState.Running or DeploymentState.RolledBack ? 100 : 0
                : record.Cursor is { TotalSteps: > 0 } c ? c.StepIndex * 100 / c.TotalSteps : 0,
            CurrentStep = !settled && record.Cursor is { } cursor ? $"{cursor.StepIndex + 1}/{cursor.TotalSteps} ({cursor.Kind.ToString().ToLowerInvariant()}, interrupted: resumed by the next command that runs the orchestrator)" : null,
            StableRevision = record.StableRevision,
            TargetRevision = record.TargetRevision,
            Message = record.Message,
            Source = source,
            Components = [.. spec.Components.Select(c => new ComponentView
            {
                Id = c.Id,
                DesiredReplicas = c.Replicas,
                WeightsApproximated = false,
                Revisions = [.. instances.Where(i => i.ComponentId == c.Id).GroupBy(i => i.Revision).OrderBy(g => g.Key).Select(g => new RevisionView
                {
                    Revision = g.Key,
                    Instances = g.Count(),
                    Ready = g.Count(i => i.State == InstanceState.Running && i.Health != InstanceHealth.Unhealthy),
                    Weight = null,
                })],
            })],
        };
    }
}

/// <summary>One component of a <see cref="DeploymentView"/>.</summary>
internal sealed record ComponentView
{
    public required string Id { get; init; }

    public required int DesiredReplicas { get; init; }

    public bool WeightsApproximated { get; init; }

    public IReadOnlyList<RevisionView> Revisions { get; init; } = [];
}

/// <summary>The instances and traffic share of one revision of a component.</summary>
internal sealed record RevisionView
{
    public required int Revision { get; init; }

    public required int Instances { get; init; }

    public required int Ready { get; init; }

    /// <summary>The traffic weight in percent, or <see langword="null"/> when not known (no orchestrator runs, or no route was set).</summary>
    public int? Weight { get; init; }
}

/// <summary>The JSON shape of <c>list-deployments --output json</c>.</summary>
internal sealed record DeploymentListView
{
    public IReadOnlyList<DeploymentView> Deployments { get; init; } = [];

    /// <summary>How many deployments (of all, not only the listed ones) are in each state.</summary>
    public IReadOnlyDictionary<string, int> Totals { get; init; } = new Dictionary<string, int>();
}

/// <summary>The JSON shape of <c>audit verify --output json</c>.</summary>
internal sealed record AuditVerifyView
{
    public required bool Valid { get; init; }

    public required long EntriesVerified { get; init; }

    public required int CheckpointsVerified { get; init; }

    public required bool SignaturesChecked { get; init; }

    public required string RootHash { get; init; }

    public required string Failure { get; init; }

    public long? FirstBadSequence { get; init; }

    public required string Message { get; init; }
}

/// <summary>The JSON shape of <c>demo --output json</c>.</summary>
internal sealed record DemoReportView
{
    public required bool Passed { get; init; }

    public required double Seconds { get; init; }

    public IReadOnlyList<DemoCheckView> Checks { get; init; } = [];

    /// <summary>Answers through the router per phase, then per version (<c>1.0.0</c>, <c>2.0.0</c>, <c>3.0.0</c>); <c>&lt;version&gt; (error)</c> counts the 500s among a version's answers, <c>failed</c> requests that got no answer.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Traffic { get; init; } = new Dictionary<string, IReadOnlyDictionary<string, int>>();

    public long AuditEntries { get; init; }

    /// <summary>Where the instances ran: <c>process</c> or <c>docker</c>.</summary>
    public string Runtime { get; init; } = "process";

    /// <summary>The orchestrator's id, the <c>bpi.orchestration/owner</c> label of everything the demo created (on Docker: unique to the run).</summary>
    public string Owner { get; init; } = "";

    /// <summary>On Docker, the image the demo built (and left on the engine for the next run); otherwise <see langword="null"/>.</summary>
    public string? Image { get; init; }
}

/// <summary>One expectation the demo checked.</summary>
internal sealed record DemoCheckView(string Name, bool Passed, string Detail);

/// <summary>The JSON shape of <c>backup --output json</c> and <c>restore --output json</c>.</summary>
internal sealed record BackupView
{
    public required string File { get; init; }

    public required int FormatVersion { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required string SdkVersion { get; init; }

    public IReadOnlyList<BackupPartView> Parts { get; init; } = [];

    /// <summary>The algorithm and key that signed the backup (a restore: whose signature was verified); <see langword="null"/> for an unsigned restore allowed with <c>--allow-unsigned</c>.</summary>
    public string? SignedBy { get; init; }

    /// <summary>For a restore: every restored live deployment compared with what the runtime runs.</summary>
    public IReadOnlyList<RestoredDeploymentView>? Deployments { get; init; }

    /// <summary>For a restore: the full <c>audit verify</c> of the restored trail with its restored verifier key.</summary>
    public AuditVerifyView? Audit { get; init; }
}

/// <summary>One part of a backup.</summary>
internal sealed record BackupPartView(string Name, long Length, string Sha256);

/// <summary>A restored deployment: <c>running</c> (adopted), <c>missing</c> (no instance of its serving revision runs) or <c>notserving</c>.</summary>
internal sealed record RestoredDeploymentView(string Id, string State, int? ServingRevision, int RunningInstances, string Status);

/// <summary>The error shape written to stdout by <c>--output json</c> when a command fails.</summary>
internal sealed record ErrorView(string Error, string Kind, int ExitCode, IReadOnlyList<string> Problems);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(DeploymentView))]
[JsonSerializable(typeof(DeploymentListView))]
[JsonSerializable(typeof(AuditVerifyView))]
[JsonSerializable(typeof(DemoReportView))]
[JsonSerializable(typeof(ErrorView))]
[JsonSerializable(typeof(HealthView))]
[JsonSerializable(typeof(BackupView))]
[JsonSerializable(typeof(SecurityScanView))]
[JsonSerializable(typeof(RemediationView))]
[JsonSerializable(typeof(ComplianceReportSummaryView))]
internal sealed partial class CliJsonContext : JsonSerializerContext;

/// <summary>The serializer the CLI writes JSON with: <see cref="CliJsonContext"/> without escaping of quotes and backticks in messages.</summary>
internal static class CliJson
{
    public static CliJsonContext Context { get; } = new(new JsonSerializerOptions(CliJsonContext.Default.Options) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
