namespace Bpi.Orchestration.Autoscaling;

/// <summary>
/// Measures the custom metrics of <see cref="AutoscalingSpec.Metrics"/>. Register one or more (the Strategies package
/// adapts every registered <c>IMetricProvider</c>); the last registered source that can measure a query measures it. A
/// spec with a metric no source can measure is refused at admission.
/// </summary>
public interface IAutoscalingMetricSource
{
    /// <summary>Whether this source measures the query.</summary>
    /// <param name="query">The metric's <see cref="AutoscalingMetric.Query"/>.</param>
    /// <returns><see langword="true"/> when it does.</returns>
    bool CanMeasure(object query);

    /// <summary>Takes one measurement.</summary>
    /// <param name="query">The metric's <see cref="AutoscalingMetric.Query"/>.</param>
    /// <param name="context">The component and serving revision being autoscaled.</param>
    /// <param name="cancellationToken">Cancels the measurement.</param>
    /// <returns>The measured value.</returns>
    /// <exception cref="OrchestrationException">The metric could not be read: the autoscaler skips it this pass (as the HPA does) and logs why.</exception>
    ValueTask<double> MeasureAsync(object query, AutoscalingMetricContext context, CancellationToken cancellationToken = default);
}

/// <summary>What a custom autoscaling metric is measured for.</summary>
/// <param name="DeploymentId">The deployment.</param>
/// <param name="ComponentId">The autoscaled component.</param>
/// <param name="Revision">The serving revision.</param>
/// <param name="Replicas">The component's current replica count.</param>
/// <param name="Step">The deployment's step context (runtime, router, clock), for sources that reach the instances.</param>
public sealed record AutoscalingMetricContext(string DeploymentId, string ComponentId, int Revision, int Replicas, Rollout.RolloutStepContext Step);
