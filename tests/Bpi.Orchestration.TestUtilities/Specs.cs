namespace Bpi.Orchestration.TestUtilities;

/// <summary>Deployment specs the orchestrator tests share.</summary>
public static class Specs
{
    /// <summary>One component <c>web</c> (0.1 CPU, 64 MB, port 8080) of app <c>shop</c>, rolled out by <paramref name="strategy"/> (default recreate).</summary>
    public static DeploymentSpec Web(int replicas = 3, string image = "web:1", StrategySpec? strategy = null, string environment = "staging", string name = "web") => new()
    {
        Name = name,
        AppId = "shop",
        Environment = environment,
        Strategy = strategy ?? new RecreateStrategySpec(),
        Components =
        [
            new ComponentSpec
            {
                Id = "web",
                Image = image,
                Replicas = replicas,
                Resources = new ComponentResources { CpuCores = 0.1, MemoryMb = 64 },
                Ports = [new PortSpec { ContainerPort = 8080 }],
            },
        ],
    };
}
