using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.PostgreSql.Benchmarks;

/// <summary>A typical deployment record (one component, one revision, a rollout cursor).</summary>
internal static class BenchmarkRecords
{
    public static DeploymentRecord New(string id) => new()
    {
        Id = id,
        State = DeploymentState.Deploying,
        Revisions =
        [
            new RevisionSpec(1, new DeploymentSpec
            {
                Name = "web",
                AppId = "shop",
                Environment = "staging",
                Components = [new ComponentSpec { Id = "web", Image = "web:1", Replicas = 2, Ports = [new PortSpec { ContainerPort = 8080 }] }],
            }),
        ],
        TargetRevision = 1,
        Cursor = new RolloutCursor(RolloutKind.Rollout, null, 1, 2, 5),
        CreatedAt = DateTimeOffset.UtcNow,
        UpdatedAt = DateTimeOffset.UtcNow,
        CreatedBy = "bench",
    };
}
