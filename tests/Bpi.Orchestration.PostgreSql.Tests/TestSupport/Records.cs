using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.PostgreSql.Tests;

/// <summary>Deployment records for the store tests.</summary>
internal static class Records
{
    public static DeploymentSpec Spec(string image = "web:1") => new()
    {
        Name = "web",
        AppId = "shop",
        Environment = "staging",
        Components =
        [
            new ComponentSpec
            {
                Id = "web",
                Image = image,
                Replicas = 2,
                Resources = new ComponentResources { CpuCores = 0.5, MemoryMb = 256 },
                Ports = [new PortSpec { ContainerPort = 8080 }],
            },
        ],
    };

    public static DeploymentRecord New(string id = "web-1a2b3c4d", long fencingToken = 0) => new()
    {
        Id = id,
        State = DeploymentState.Deploying,
        Revisions = [new RevisionSpec(1, Spec())],
        TargetRevision = 1,
        Cursor = new RolloutCursor(RolloutKind.Rollout, null, 1, 2, 5),
        CreatedAt = new DateTimeOffset(2026, 12, 4, 8, 0, 0, TimeSpan.Zero),
        UpdatedAt = new DateTimeOffset(2026, 12, 4, 8, 0, 0, TimeSpan.Zero),
        CreatedBy = "alice",
        FencingToken = fencingToken,
    };
}
