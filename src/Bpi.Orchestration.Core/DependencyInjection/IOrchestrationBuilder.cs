namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Returned by <c>services.AddOrchestration(...)</c>; each Bpi.Orchestration package adds extension methods to it
/// (<c>.AddDocker()</c>, <c>.AddCanary()</c>, <c>.AddFileAuditStore(path)</c>, …).
/// </summary>
public interface IOrchestrationBuilder
{
    /// <summary>The service collection the orchestrator is registered in.</summary>
    IServiceCollection Services { get; }
}
