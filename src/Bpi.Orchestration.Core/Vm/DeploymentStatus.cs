using System.Globalization;

namespace Bpi.Orchestration;

/// <summary>A deployment's status at one moment.</summary>
public sealed record DeploymentStatus
{
    /// <summary>The deployment id.</summary>
    public required string Id { get; init; }

    /// <summary>The deployment name.</summary>
    public required string Name { get; init; }

    /// <summary>The application id.</summary>
    public required string AppId { get; init; }

    /// <summary>The environment.</summary>
    public required string Environment { get; init; }

    /// <summary>The deployment type.</summary>
    public required DeploymentType Type { get; init; }

    /// <summary>The state.</summary>
    public required DeploymentState State { get; init; }

    /// <summary>The strategy of the current (or last) rollout.</summary>
    public required string Strategy { get; init; }

    /// <summary>When the deployment was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the last rollout ended.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>The progress of the running plan, 0–100; 100 when no plan runs and the deployment is serving.</summary>
    public required int Progress { get; init; }

    /// <summary>The step running now (1-based index and description), or <see langword="null"/>.</summary>
    public string? CurrentStep { get; init; }

    /// <summary>The revision serving traffic, or <see langword="null"/>.</summary>
    public int? StableRevision { get; init; }

    /// <summary>The revision being rolled out, or <see langword="null"/>.</summary>
    public int? TargetRevision { get; init; }

    /// <summary>The resources the ledger holds for the deployment.</summary>
    public required ResourceRequirements Allocation { get; init; }

    /// <summary>The security score (0–10), or <see langword="null"/> when no security gate is configured.</summary>
    public double? SecurityScore { get; init; }

    /// <summary>Why the last rollout failed or was rolled back.</summary>
    public string? Message { get; init; }

    /// <summary>Per component: desired and ready instances, and traffic weights.</summary>
    public IReadOnlyList<ComponentStatus> Components { get; init; } = [];

    /// <summary>
    /// When the runtime last reported the instances counted in <see cref="Components"/>, or <see langword="null"/> when it
    /// has not (no runtime, the deployment is not live, or every read so far failed). A status read asks the runtime once,
    /// without retries, and waits at most a second: when the runtime fails, the counts are those of this moment.
    /// </summary>
    public DateTimeOffset? InstancesObservedAt { get; init; }

    /// <summary>Why the runtime could not be read for this status (the counts are then from <see cref="InstancesObservedAt"/>), or <see langword="null"/> when it answered.</summary>
    public string? RuntimeError { get; init; }

    /// <summary>
    /// What kind of failure <see cref="RuntimeError"/> is, or <see langword="null"/> when the runtime answered:
    /// <see cref="OrchestrationErrorKind.RuntimeUnavailable"/> when the runtime is unreachable or its circuit breaker is open
    /// (the read failed fast, without retries), <see cref="OrchestrationErrorKind.Timeout"/> when it has not answered in time.
    /// </summary>
    public OrchestrationErrorKind? RuntimeErrorKind { get; init; }

    /// <summary>A one-line summary: id, state, revisions, current step, instances per component and revision, weights, message.</summary>
    /// <returns>The summary.</returns>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Id} ({Name}, {Environment}): {State}, {Strategy}");
        text.Append(CultureInfo.InvariantCulture, $", stable r{(StableRevision is { } s ? s.ToString(CultureInfo.InvariantCulture) : "-")}");
        if (TargetRevision is { } t && t != StableRevision)
        {
            text.Append(CultureInfo.InvariantCulture, $", target r{t}");
        }

        if (CurrentStep is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $", step {CurrentStep} ({Progress}%)");
        }

        foreach (var c in Components)
        {
            text.Append(CultureInfo.InvariantCulture, $"; {c.Id}: {string.Join(", ", c.Instances.Select(i => $"r{i.Revision} {i.Running}/{i.Total} running"))}");
            text.Append(CultureInfo.InvariantCulture, $" of {c.DesiredReplicas} desired");
            if (c.TrafficWeights.Count > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $", weights {string.Join(" ", c.TrafficWeights.OrderBy(w => w.Key).Select(w => $"r{w.Key}={w.Value}%"))}");
            }
        }

        if (RuntimeError is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"; runtime: {RuntimeError}");
        }

        if (Message is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"; {Message}");
        }

        return text.ToString();
    }
    /// <summary>Whether self-healing finds the serving revision as desired (<see cref="HealingState.Healthy"/>) or is repairing it.</summary>
    public HealingState Healing { get; init; }

    /// <summary>Per component self-healing has acted on: restarts, the last failure and the crash-loop back-off.</summary>
    public IReadOnlyList<ComponentHealing> HealingDetails { get; init; } = [];

    /// <summary>The autoscaler's last decision per component with <see cref="ComponentSpec.Autoscaling"/> (what it measured, what it chose and why); empty without autoscaling.</summary>
    public IReadOnlyList<AutoscalingDecision> Autoscaling { get; init; } = [];
}

/// <summary>The status of one component of a deployment.</summary>
/// <param name="Id">The component id.</param>
/// <param name="DesiredReplicas">The replica count of the spec the deployment is heading for.</param>
/// <param name="Instances">Instances on the runtime, by revision: how many exist and how many are running.</param>
/// <param name="TrafficWeights">The last weights applied (revision → weight), empty when none were.</param>
/// <param name="WeightsApproximated">Whether the weights are approximated by replica ratio because no traffic router is registered.</param>
public sealed record ComponentStatus(
    string Id,
    int DesiredReplicas,
    IReadOnlyList<RevisionInstances> Instances,
    IReadOnlyDictionary<int, int> TrafficWeights,
    bool WeightsApproximated)
{
    /// <summary>One line: the component, its instances per revision, the desired count and the weights.</summary>
    /// <returns>The summary.</returns>
    public override string ToString()
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{Id}: {string.Join(", ", Instances.Select(i => $"r{i.Revision} {i.Running}/{i.Total} running"))} of {DesiredReplicas} desired");
        if (TrafficWeights.Count > 0)
        {
            text += string.Create(CultureInfo.InvariantCulture, $", weights {string.Join(" ", TrafficWeights.OrderBy(w => w.Key).Select(w => $"r{w.Key}={w.Value}%"))}{(WeightsApproximated ? " (approximated by replica ratio)" : "")}");
        }

        return text;
    }
}

/// <summary>The instances of one revision of a component.</summary>
/// <param name="Revision">The revision number.</param>
/// <param name="Total">How many instances exist.</param>
/// <param name="Running">How many are running and not unhealthy.</param>
public sealed record RevisionInstances(int Revision, int Total, int Running);

/// <summary>Filters for <see cref="IOrchestrationVm.ListAsync"/>; every set filter must match.</summary>
public sealed record DeploymentQuery
{
    /// <summary>Only deployments in one of these states; empty means every state except <see cref="DeploymentState.Destroyed"/>.</summary>
    public IReadOnlyList<DeploymentState> States { get; init; } = [];

    /// <summary>Only this application.</summary>
    public string? AppId { get; init; }

    /// <summary>Only this environment.</summary>
    public string? Environment { get; init; }
}

/// <summary>The result of <see cref="IOrchestrationVm.ListAsync"/>.</summary>
/// <param name="Deployments">The matching deployments, newest first.</param>
/// <param name="TotalsByState">How many deployments (of all, not only the matching ones) are in each state.</param>
/// <param name="Utilization">Resource utilization of the ledger.</param>
public sealed record DeploymentList(
    IReadOnlyList<DeploymentStatus> Deployments,
    IReadOnlyDictionary<DeploymentState, int> TotalsByState,
    ResourceUtilization Utilization)
{
    /// <summary>One line: how many deployments matched, the totals by state and the ids of the matching ones.</summary>
    /// <returns>The summary.</returns>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Deployments.Count} deployment(s) [{string.Join(", ", Deployments.Select(d => $"{d.Id} {d.State}"))}]; totals {string.Join(", ", TotalsByState.OrderBy(t => t.Key).Select(t => $"{t.Key} {t.Value}"))}");
}

/// <summary>How much of the configured capacity is reserved.</summary>
/// <param name="Allocated">The sum of every reservation.</param>
/// <param name="Capacity">The configured capacity, or <see langword="null"/> when unlimited.</param>
public sealed record ResourceUtilization(ResourceRequirements Allocated, ResourceRequirements? Capacity)
{
    /// <summary>Reserved CPU as a fraction (0–1) of capacity, or <see langword="null"/> when capacity is unlimited or zero.</summary>
    public double? Cpu => Ratio(Allocated.CpuCores, Capacity?.CpuCores);

    /// <summary>Reserved memory as a fraction (0–1) of capacity, or <see langword="null"/>.</summary>
    public double? Memory => Ratio(Allocated.MemoryMb, Capacity?.MemoryMb);

    /// <summary>Reserved storage as a fraction (0–1) of capacity, or <see langword="null"/>.</summary>
    public double? Storage => Ratio(Allocated.StorageGb, Capacity?.StorageGb);

    /// <summary>Reserved network bandwidth as a fraction (0–1) of capacity, or <see langword="null"/>.</summary>
    public double? Network => Ratio(Allocated.NetworkBandwidthMbps, Capacity?.NetworkBandwidthMbps);

    private static double? Ratio(double allocated, double? capacity) => capacity is > 0 ? allocated / capacity.Value : null;
}

/// <summary>The orchestrator's own state.</summary>
/// <param name="VmId">The orchestrator id.</param>
/// <param name="Status">Whether it runs.</param>
/// <param name="ActiveDeployments">Deployments that are not destroyed.</param>
/// <param name="RolloutsInProgress">Rollouts queued or running.</param>
/// <param name="ManagedInstances">Instances the runtime reports for this orchestrator.</param>
/// <param name="Utilization">Resource utilization.</param>
/// <param name="AverageSecurityScore">The average security score over active deployments that have one.</param>
/// <param name="LastDeploymentId">The most recently created deployment.</param>
/// <param name="LastDeploymentAt">When it was created.</param>
public sealed record VmState(
    string VmId,
    VmStatus Status,
    int ActiveDeployments,
    int RolloutsInProgress,
    int ManagedInstances,
    ResourceUtilization Utilization,
    double? AverageSecurityScore,
    string? LastDeploymentId,
    DateTimeOffset? LastDeploymentAt)
{
    /// <summary>
    /// The circuit breaker of every target called so far (runtime, router, metric providers), ordered by target; an
    /// <see cref="Resilience.CircuitBreakerState.Open"/> one fails calls fast. Empty when circuit breaking is off.
    /// </summary>
    public IReadOnlyList<Resilience.CircuitBreakerStatus> CircuitBreakers { get; init; } = [];

    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"VmId = {VmId}, Status = {Status}, ActiveDeployments = {ActiveDeployments}, RolloutsInProgress = {RolloutsInProgress}, ManagedInstances = {ManagedInstances}");
        builder.Append(CultureInfo.InvariantCulture, $", Utilization = {Utilization}, AverageSecurityScore = {AverageSecurityScore}, LastDeploymentId = {LastDeploymentId}, LastDeploymentAt = {LastDeploymentAt}");
        builder.Append(", CircuitBreakers = [").AppendJoin("; ", CircuitBreakers).Append(']');
        return true;
    }
}

/// <summary>Whether the orchestrator runs.</summary>
public enum VmStatus
{
    /// <summary>Created, not started.</summary>
    Created = 0,

    /// <summary>Accepting work.</summary>
    Running,

    /// <summary>Stopping.</summary>
    Stopping,

    /// <summary>Stopped or disposed.</summary>
    Stopped,
}
