namespace Bpi.Orchestration;

/// <summary>What the orchestrator does with its deployments when the generic host that runs it stops (<see cref="OrchestrationOptions.OnHostStop"/>).</summary>
public enum HostStopAction
{
    /// <summary>
    /// Leave every deployment running: rollouts stop where they stand (their cursors stay stored and resume on the next
    /// start with the same <see cref="OrchestrationOptions.VmId"/> and a durable store); instances keep running.
    /// </summary>
    Leave = 0,

    /// <summary>
    /// Stop the rollouts where they stand, then remove every instance of every deployment from the runtime. The records
    /// stay (with a durable store a restart shows them with no instances; self-healing, when on, starts them again);
    /// traffic routes are left as they are.
    /// </summary>
    StopWorkloads = 1,

    /// <summary>
    /// Destroy every deployment as <see cref="IOrchestrationVm.DestroyAsync"/> does (rollouts aborted, traffic routes
    /// removed, instances removed, records marked destroyed): for ephemeral hosts and test fixtures.
    /// </summary>
    Destroy = 2,
}
