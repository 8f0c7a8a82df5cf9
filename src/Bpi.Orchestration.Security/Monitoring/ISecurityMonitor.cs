using Bpi.Orchestration.Security.Assessment;

namespace Bpi.Orchestration.Security.Monitoring;

/// <summary>
/// Watches the security of deployments: streams gate decisions and findings as events, re-assesses running deployments
/// every <see cref="SecurityOptions.ReassessmentInterval"/> (their running containers when an
/// <see cref="Runtime.IContainerInspector"/> is registered, else their current spec), and keeps the latest assessment of each.
/// </summary>
public interface ISecurityMonitor
{
    /// <summary>Streams security events from the moment of the call until <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The events.</returns>
    IAsyncEnumerable<SecurityEvent> WatchAsync(CancellationToken cancellationToken = default);

    /// <summary>The latest assessment of a deployment, or <see langword="null"/> when it was not assessed yet.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <returns>The assessment.</returns>
    SecurityAssessment? GetLatest(string deploymentId);

    /// <summary>Assesses one deployment now (its running containers, or its spec without an inspector), publishing events for new and resolved findings.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the assessment.</param>
    /// <returns>The assessment.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/>: no live deployment has that id.</exception>
    ValueTask<SecurityAssessment> AssessDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>Assesses every live deployment now; a deployment whose assessment fails is logged and skipped.</summary>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The assessments that completed.</returns>
    ValueTask<IReadOnlyList<SecurityAssessment>> ReassessAllAsync(CancellationToken cancellationToken = default);
}
