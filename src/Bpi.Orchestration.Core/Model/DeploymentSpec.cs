namespace Bpi.Orchestration;

/// <summary>
/// Everything needed to deploy one application: its components, infrastructure, strategy and settings.
/// Validate with <see cref="Validate"/> (the orchestrator does it for you); every problem is listed at once.
/// </summary>
public sealed record DeploymentSpec
{
    /// <summary>The deployment's name: lowercase letters, digits and '-', 1–63 characters, starting with a letter (a DNS label).</summary>
    public required string Name { get; init; }

    /// <summary>The application this deployment belongs to (same rules as <see cref="Name"/>).</summary>
    public required string AppId { get; init; }

    /// <summary>The environment, for example <c>development</c>, <c>staging</c> or <c>production</c>.</summary>
    /// <value>The default value is <c>development</c>.</value>
    public string Environment { get; init; } = "development";

    /// <summary>
    /// The kind of deployment: it selects the component manager that serves (and first checks) the components. With
    /// <see cref="DeploymentType.HybridInfrastructure"/> each component names its own <see cref="ComponentSpec.Type"/>.
    /// </summary>
    /// <value>The default value is <see cref="DeploymentType.DockLockContainer"/>.</value>
    public DeploymentType Type { get; init; } = DeploymentType.DockLockContainer;

    /// <summary>The EncCluster settings; required when <see cref="Type"/> is <see cref="DeploymentType.EncCluster"/> and refused otherwise.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public EncClusterSpec? EncCluster { get; init; }

    /// <summary>The components (services) to run; at least one.</summary>
    public IReadOnlyList<ComponentSpec> Components { get; init; } = [];

    /// <summary>Infrastructure: reserved resources, network and security settings.</summary>
    public InfrastructureConfig Infrastructure { get; init; } = new();

    /// <summary>How a new revision replaces the running one.</summary>
    /// <value>The default value is <see cref="RecreateStrategySpec"/>.</value>
    public StrategySpec Strategy { get; init; } = new RecreateStrategySpec();

    /// <summary>Health validation and progress settings.</summary>
    public ValidationSettings Validation { get; init; } = new();

    /// <summary>Automatic and manual rollback settings.</summary>
    public RollbackSettings Rollback { get; init; } = new();

    /// <summary>Free-form labels copied onto everything the deployment creates (under the user's own keys).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The longest duration any setting of a spec may hold (a pause, a deadline, an interval, a timeout):
    /// <see cref="int.MaxValue"/> milliseconds, about 24.8 days, the longest wait every .NET timer supports. Validation
    /// refuses longer ones, so a rollout cannot fail at run time on a timer that cannot be set.
    /// </summary>
    public static TimeSpan MaxDuration { get; } = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>The validation problem for a duration above <see cref="MaxDuration"/>, worded the same by every spec.</summary>
    /// <param name="field">The field's path.</param>
    /// <param name="value">The duration that is too long.</param>
    /// <returns>One sentence naming the field and the limit.</returns>
    public static string DescribeTooLong(string field, TimeSpan value)
        => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{field}: {value:c} is longer than the longest supported wait, {MaxDuration:c} (about 24.8 days); use a shorter duration.");

    /// <summary>
    /// The validation problem of a duration above <see cref="MaxDuration"/>, or <see langword="null"/> when it is within
    /// it (or not set): what every built-in spec checks, for a strategy spec of your own to check the same way.
    /// </summary>
    /// <param name="field">The field's path.</param>
    /// <param name="value">The duration, if set.</param>
    /// <returns>The problem, or <see langword="null"/>.</returns>
    public static string? CheckDuration(string field, TimeSpan? value)
        => value > MaxDuration ? DescribeTooLong(field, value.Value) : null;

    /// <summary>The problems of several durations (see <see cref="CheckDuration"/>), in order.</summary>
    /// <param name="durations">Each field's path and duration.</param>
    /// <returns>One problem per duration above <see cref="MaxDuration"/>.</returns>
    public static IEnumerable<string> CheckDurations(params (string Field, TimeSpan? Value)[] durations)
    {
        ArgumentNullException.ThrowIfNull(durations);
        foreach (var (field, value) in durations)
        {
            if (CheckDuration(field, value) is { } problem)
            {
                yield return problem;
            }
        }
    }

    /// <summary>
    /// The deployment type a component is served by: its own <see cref="ComponentSpec.Type"/>, else this deployment's
    /// <see cref="Type"/>. A component manager checks and serves the components of its type.
    /// </summary>
    /// <param name="component">A component of this spec.</param>
    /// <returns>The component's type.</returns>
    public DeploymentType TypeOf(ComponentSpec component)
    {
        ArgumentNullException.ThrowIfNull(component);
        return component.Type ?? Type;
    }

    /// <summary>Checks the whole spec and returns every problem found; an empty list means the spec is valid.</summary>
    /// <returns>One sentence per problem, naming the field.</returns>
    public IReadOnlyList<string> Validate() => DeploymentSpecValidator.Validate(this);

    /// <summary>Throws <see cref="OrchestrationException"/> of kind <see cref="OrchestrationErrorKind.InvalidConfiguration"/> listing every problem, if there is any.</summary>
    /// <exception cref="OrchestrationException">The spec is invalid.</exception>
    public void EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0)
        {
            throw OrchestrationException.InvalidConfiguration($"Deployment spec '{Name}'", errors);
        }
    }

    /// <summary>The resources this deployment reserves: <see cref="InfrastructureConfig.Resources"/> when set, otherwise the sum over components of replicas × requests.</summary>
    /// <returns>The reservation the resource ledger holds for this spec.</returns>
    public ResourceRequirements GetReservation()
    {
        if (Infrastructure.Resources is { } explicitResources)
        {
            return explicitResources;
        }

        var (cpu, memory) = SumOfComponents();
        return new ResourceRequirements { CpuCores = cpu, MemoryMb = memory };
    }

    /// <summary>Whether <see cref="GetReservation"/> equals <paramref name="amount"/>, without making a new amount to compare.</summary>
    internal bool ReservationEquals(ResourceRequirements amount)
    {
        if (Infrastructure.Resources is { } explicitResources)
        {
            return explicitResources == amount;
        }

        var (cpu, memory) = SumOfComponents();
        return amount.CpuCores.Equals(cpu) && amount.MemoryMb == memory && amount.StorageGb.Equals(0d) && amount.NetworkBandwidthMbps.Equals(0d);
    }

    private (double Cpu, long Memory) SumOfComponents()
    {
        double cpu = 0;
        long memory = 0;
        var components = Components;
        for (var i = 0; i < components.Count; i++)
        {
            cpu += components[i].Resources.CpuCores * components[i].Replicas;
            memory += (long)components[i].Resources.MemoryMb * components[i].Replicas;
        }

        return (cpu, memory);
    }
}
