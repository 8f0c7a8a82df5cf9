namespace Bpi.Orchestration.Runtime;

/// <summary>
/// An optional capability of an <see cref="IWorkloadRuntime"/>: it scales the components that have
/// <see cref="ComponentSpec.Autoscaling"/> itself, from the spec of the revision it runs (the Kubernetes runtime renders a
/// HorizontalPodAutoscaler with the same targets, metrics and behaviour). The orchestrator's own autoscaler then leaves
/// scaling to the runtime: it neither measures nor scales (custom metrics included), and admission accepts CPU and
/// memory targets though the runtime reports no utilisation.
/// </summary>
/// <remarks>
/// <para>
/// Without this capability the orchestrator autoscales: CPU and memory targets need the runtime to report utilisation
/// (<see cref="IWorkloadUtilization"/>), and admission refuses them on a runtime that does not; custom metrics
/// (<see cref="AutoscalingSpec.Metrics"/>) are measured by the registered <see cref="Autoscaling.IAutoscalingMetricSource"/>s
/// on any runtime.
/// </para>
/// <para>
/// A runtime that decorates another answers <see cref="ScalesItself"/> for the runtime it wraps, and implements
/// <see cref="IWorkloadUtilization"/> only when the runtime it wraps does (admission reads the capability off the type):
/// a decorator that always forwarded utilisation would let CPU and memory targets through that nothing acts on.
/// </para>
/// </remarks>
public interface IWorkloadSelfScaling
{
    /// <summary>
    /// Whether this runtime scales autoscaled components itself. Read once when the orchestrator is built; a runtime
    /// answers the same for its whole life.
    /// </summary>
    /// <value><see langword="true"/> when the runtime does the autoscaling (the orchestrator then does not).</value>
    bool ScalesItself { get; }
}
