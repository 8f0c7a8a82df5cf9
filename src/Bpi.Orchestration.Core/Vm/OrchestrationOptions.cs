using Microsoft.Extensions.Options;

namespace Bpi.Orchestration;

/// <summary>Options of the orchestrator, set through <c>services.AddOrchestration(o => …)</c>.</summary>
public sealed class OrchestrationOptions
{
    /// <summary>The orchestrator's id; it goes into the owner label of everything created on a runtime. Set a stable id when state must survive restarts (the CLI does).</summary>
    /// <value>The default value is <c>vm-</c> followed by 12 random hex digits, new for each process.</value>
    public string VmId { get; set; } = "vm-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>How many rollouts run at once; more wait in a FIFO queue. A rollout holds its slot while it waits for promotion or approval.</summary>
    /// <value>The default value is 10.</value>
    public int MaxConcurrentDeployments { get; set; } = 10;

    /// <summary>The capacity the resource ledger reserves against; <see langword="null"/> means unlimited (reservations are still tracked).</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public ResourceRequirements? Capacity { get; set; }

    /// <summary>
    /// Whether <see cref="IOrchestrationVm.StartAsync"/> removes instances the runtime reports for this orchestrator that
    /// belong to a deployment the store records as destroyed. Instances of a deployment the store does not know (its
    /// record is missing or unreadable) are never removed: they are left running, logged as a warning naming the
    /// deployment and the instance count, and audited (<c>runtime.orphans.unknown</c>).
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool RemoveOrphansOnStart { get; set; } = true;

    /// <summary>Whether rollouts that were interrupted (the process stopped mid-rollout) are resumed at their stored step on start.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool ResumeInterruptedRollouts { get; set; } = true;

    /// <summary>How many ended rollouts each deployment keeps in its history (<see cref="IOrchestrationVm.GetRolloutHistoryAsync"/>); older ones are dropped.</summary>
    /// <value>The default value is 50.</value>
    public int RolloutHistoryLimit { get; set; } = 50;

    /// <summary>
    /// How many destroyed deployments are remembered (status, history) after their destroy; beyond that the oldest is
    /// forgotten: removed from memory and deleted from the store, so a long-running orchestrator does not grow without
    /// bound. The audit trail keeps every deployment regardless.
    /// </summary>
    /// <value>The default value is 100. Zero forgets a deployment as soon as its destroy completes.</value>
    public int DestroyedDeploymentsRetained { get; set; } = 100;

    /// <summary>The window of the DORA figures published as metrics, and the default of <see cref="IOrchestrationVm.GetDoraAsync"/>.</summary>
    /// <value>The default value is 30 days.</value>
    public TimeSpan DoraWindow { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How many times a transient runtime failure is retried before a step fails.</summary>
    /// <value>The default value is 3.</value>
    public int RuntimeRetryAttempts { get; set; } = 3;

    /// <summary>The delay before the first retry of a transient runtime failure (doubling after each).</summary>
    /// <value>The default value is 200 milliseconds.</value>
    public TimeSpan RuntimeRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Whether the orchestrator keeps every running deployment at its desired state between rollouts (self-healing):
    /// replaces instances that end (by each component's <see cref="ComponentSpec.Restart"/> policy) or fail their
    /// <see cref="ComponentSpec.LivenessCheck"/>, recreates missing ones, takes instances failing their readiness check
    /// out of traffic. Woken by the runtime's events (<see cref="Runtime.IWorkloadEvents"/>) and by a periodic resync.
    /// </summary>
    /// <remarks>
    /// Every runtime call self-healing makes (observing, repairing, probing, reading log tails) is cancelled when the
    /// orchestrator stops, and stopping or disposing it awaits them: an engine call that never answers does not keep it
    /// (or a test host) alive. Turn it off where a deployment must stay as a test or a tool left it (a stale revision,
    /// an instance removed on purpose).
    /// </remarks>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool SelfHealing { get; set; } = true;

    /// <summary>How often self-healing compares every running deployment with what the runtime reports, in case an event was missed (or the runtime sends none).</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan HealingResyncInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Horizontal autoscaling of components with <see cref="ComponentSpec.Autoscaling"/> by the orchestrator. Who scales
    /// follows from what the runtime declares. A runtime that scales workloads itself
    /// (<see cref="Runtime.IWorkloadSelfScaling"/>; Kubernetes: an HPA) is left to it: the orchestrator neither measures nor
    /// scales. On any other runtime, every <see cref="AutoscalingInterval"/> the orchestrator measures each autoscaled
    /// component's serving revision — CPU and memory through the runtime's <see cref="Runtime.IWorkloadUtilization"/>,
    /// custom metrics (<see cref="AutoscalingSpec.Metrics"/>) through the registered
    /// <see cref="Bpi.Orchestration.Autoscaling.IAutoscalingMetricSource"/>s — and scales it by the Kubernetes HPA algorithm, as audited scale
    /// plans; on a runtime that neither reports utilisation nor scales itself, admission refuses CPU and memory targets
    /// (the default CPU target included) and only custom metrics scale. A runtime that decorates another (EncCluster) has
    /// these capabilities exactly when the runtime it wraps has them.
    /// Off: the orchestrator neither scales nor checks targets against the runtime; the counts stay as deployed unless the
    /// runtime scales itself (Kubernetes still applies the HPAs).
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Autoscaling { get; set; } = true;

    /// <summary>How often the autoscaler measures and decides (Kubernetes' HPA sync period is 15 seconds).</summary>
    /// <value>The default value is 15 seconds.</value>
    public TimeSpan AutoscalingInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The crash-loop back-off before the second replacement of a component's failing instances; it doubles with each further failure (as in Kubernetes).</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan CrashLoopBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest crash-loop back-off.</summary>
    /// <value>The default value is 5 minutes.</value>
    public TimeSpan CrashLoopMaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a component must run without a failure before its crash-loop back-off starts over.</summary>
    /// <value>The default value is 10 minutes.</value>
    public TimeSpan CrashLoopResetAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The circuit breakers in front of the runtime, the traffic router and each metric provider: a target that keeps
    /// failing is not called for a while, and deployment status reports <see cref="OrchestrationErrorKind.RuntimeUnavailable"/>
    /// at once instead of waiting out retries.
    /// </summary>
    /// <value>The default value is enabled, opening at a failure ratio of 0.5 over at least 20 calls in 30 s, for 15 s.</value>
    public Resilience.CircuitBreakingOptions CircuitBreaking { get; set; } = new();

    /// <summary>
    /// What happens to the deployments when the generic host stops (run by the orchestrator's hosted service, within the
    /// host's shutdown timeout, <c>HostOptions.ShutdownTimeout</c>; when that expires the policy stops where it stands and
    /// says so in the log and the audit trail, <c>orchestrator.host-stop</c>). Only a host stop runs it: disposing a
    /// service provider, or <see cref="IOrchestrationVm.StopAsync"/>, leaves everything running.
    /// </summary>
    /// <value>The default value is <see cref="HostStopAction.Leave"/>: deployments keep running after the host stops.</value>
    public HostStopAction OnHostStop { get; set; } = HostStopAction.Leave;
}

/// <summary>Checks <see cref="OrchestrationOptions"/> and lists every problem, each as "<c>OrchestrationOptions.Property: problem; what to do</c>".</summary>
internal sealed class OrchestrationOptionsValidator : IValidateOptions<OrchestrationOptions>
{
    private const string Type = nameof(OrchestrationOptions);

    public ValidateOptionsResult Validate(string? name, OrchestrationOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.VmId) || options.VmId.Length > 63)
        {
            errors.Add($"{Type}.{nameof(OrchestrationOptions.VmId)}: '{options.VmId}' is not 1-63 characters; name this orchestrator with 1 to 63 characters (letters, digits, '-').");
        }

        if (options.MaxConcurrentDeployments < 1)
        {
            errors.Add($"{Type}.{nameof(OrchestrationOptions.MaxConcurrentDeployments)}: {options.MaxConcurrentDeployments} is less than 1; allow at least one deployment at a time.");
        }

        if (options.Capacity is { } c && (c.CpuCores < 0 || c.MemoryMb < 0 || c.StorageGb < 0 || c.NetworkBandwidthMbps < 0))
        {
            errors.Add($"{Type}.{nameof(OrchestrationOptions.Capacity)}: an amount is negative; give every amount as zero or more (or leave Capacity null for no limit).");
        }

        if (options.RolloutHistoryLimit < 1)
        {
            errors.Add($"{Type}.{nameof(OrchestrationOptions.RolloutHistoryLimit)}: {options.RolloutHistoryLimit} is less than 1; keep at least the last rollout.");
        }

        if (options.DestroyedDeploymentsRetained < 0)
        {
            errors.Add($"{Type}.{nameof(OrchestrationOptions.DestroyedDeploymentsRetained)}: {options.DestroyedDeploymentsRetained} is negative; use zero or more.");
        }

        Positive(options.DoraWindow, nameof(OrchestrationOptions.DoraWindow));
        if (!EnumChecks.IsDefined(options.OnHostStop))
        {
            errors.Add($"{Type}.{nameof(OrchestrationOptions.OnHostStop)}: {(int)options.OnHostStop} is not a {nameof(HostStopAction)}; use Leave, StopWorkloads or Destroy.");
        }

        if (options.RuntimeRetryAttempts < 0)
        {
            errors.Add($"{Type}.{nameof(OrchestrationOptions.RuntimeRetryAttempts)}: {options.RuntimeRetryAttempts} is negative; use zero (no retries) or more.");
        }

        Positive(options.RuntimeRetryDelay, nameof(OrchestrationOptions.RuntimeRetryDelay));
        Positive(options.HealingResyncInterval, nameof(OrchestrationOptions.HealingResyncInterval));
        Positive(options.AutoscalingInterval, nameof(OrchestrationOptions.AutoscalingInterval));
        if (options.CrashLoopBackoff <= TimeSpan.Zero || options.CrashLoopMaxBackoff < options.CrashLoopBackoff)
        {
            errors.Add($"{Type}.{nameof(OrchestrationOptions.CrashLoopBackoff)}: {options.CrashLoopBackoff} is not within (0, {nameof(OrchestrationOptions.CrashLoopMaxBackoff)} = {options.CrashLoopMaxBackoff}]; use a positive duration no longer than the maximum back-off.");
        }

        Positive(options.CrashLoopResetAfter, nameof(OrchestrationOptions.CrashLoopResetAfter));
        Resilience.CircuitBreakingOptions.Validate(options.CircuitBreaking, $"{Type}.{nameof(OrchestrationOptions.CircuitBreaking)}", errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

        void Positive(TimeSpan value, string property)
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"{Type}.{property}: {value} is not positive; use a duration greater than zero.");
            }
        }
    }
}
