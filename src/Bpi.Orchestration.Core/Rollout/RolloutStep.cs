using System.Runtime.CompilerServices;
using System.Globalization;

namespace Bpi.Orchestration.Rollout;

/// <summary>
/// One small, declarative, idempotent step of a <see cref="RolloutPlan"/> ("converge to", never "add one"), so the
/// executor can re-run a step after a crash. Core defines the basic vocabulary; other packages add steps (analysis,
/// hooks) together with an <see cref="IRolloutStepHandler"/> that executes them.
/// </summary>
public abstract record RolloutStep
{
    /// <summary>The step kind used in telemetry tags and events, lowercase, for example <c>scale</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>A one-line human description, for dry runs and progress displays.</summary>
    /// <returns>The description.</returns>
    public abstract string Describe();

    /// <inheritdoc />
    public sealed override string ToString() => Describe();
}

/// <summary>Converge a component revision to exactly <paramref name="Replicas"/> instances.</summary>
/// <param name="ComponentId">The component.</param>
/// <param name="Revision">The revision number.</param>
/// <param name="Replicas">The number of instances that must exist afterwards.</param>
public sealed record ScaleRevisionStep(string ComponentId, int Revision, int Replicas) : RolloutStep
{
    /// <inheritdoc />
    public override string Kind => "scale";

    /// <inheritdoc />
    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"scale {ComponentId} revision {Revision} to {Replicas}");
}

/// <summary>
/// Remove given instances of a component revision (self-healing replaces them with a <see cref="ScaleRevisionStep"/>
/// after this one). Instances already gone are skipped, so the step is idempotent.
/// </summary>
/// <param name="ComponentId">The component.</param>
/// <param name="Revision">The revision number.</param>
/// <param name="InstanceIds">The instances to remove.</param>
public sealed record RemoveInstancesStep(string ComponentId, int Revision, IReadOnlyList<string> InstanceIds) : RolloutStep
{
    /// <inheritdoc />
    public override string Kind => "remove-instances";

    /// <inheritdoc />
    public override string Describe() => $"remove {ComponentId} revision {Revision.ToString(CultureInfo.InvariantCulture)} instance{(InstanceIds.Count == 1 ? "" : "s")} {string.Join(", ", InstanceIds)}";
}

/// <summary>Wait until at least <paramref name="MinReady"/> instances of a component revision are ready (running, healthy, ready for the minimum ready time).</summary>
/// <param name="ComponentId">The component.</param>
/// <param name="Revision">The revision number.</param>
/// <param name="MinReady">How many instances must be ready.</param>
public sealed record AwaitReadyStep(string ComponentId, int Revision, int MinReady) : RolloutStep
{
    /// <summary>How long to wait before the step fails; <see langword="null"/> uses the spec's progress deadline.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <inheritdoc />
    public override string Kind => "await-ready";

    /// <inheritdoc />
    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"wait for {MinReady} ready instance{(MinReady == 1 ? "" : "s")} of {ComponentId} revision {Revision}");
}

/// <summary>Set the traffic weights of revisions behind a component's service. Empty weights remove the route.</summary>
/// <param name="ComponentId">The component.</param>
/// <param name="Weights">Revision number → weight (0–100); the weights add up to 100.</param>
public sealed record SetTrafficStep(string ComponentId, IReadOnlyDictionary<int, int> Weights) : RolloutStep
{
    /// <inheritdoc />
    public override string Kind => "set-traffic";

    /// <inheritdoc />
    public override string Describe()
    {
        if (Weights.Count == 0)
        {
            return $"remove the route of {ComponentId}";
        }

        var text = new DefaultInterpolatedStringHandler(0, 0, CultureInfo.InvariantCulture, stackalloc char[128]);
        text.AppendLiteral("route ");
        text.AppendFormatted(ComponentId);
        text.AppendLiteral(": ");
        var first = true;
        foreach (var (revision, weight) in Weights.Count == 1 ? (IEnumerable<KeyValuePair<int, int>>)Weights : Weights.OrderBy(w => w.Key))
        {
            if (!first)
            {
                text.AppendLiteral(", ");
            }

            first = false;
            text.AppendLiteral("revision ");
            text.AppendFormatted(revision);
            text.AppendLiteral(" ");
            text.AppendFormatted(weight);
            text.AppendLiteral("%");
        }

        return text.ToStringAndClear();
    }
}

/// <summary>Pause the rollout for a duration, or until it is promoted when <paramref name="Duration"/> is <see langword="null"/>.</summary>
/// <param name="Duration">How long to pause; <see langword="null"/> waits for <see cref="IOrchestrationVm.PromoteAsync"/>.</param>
public sealed record PauseStep(TimeSpan? Duration) : RolloutStep
{
    /// <inheritdoc />
    public override string Kind => "pause";

    /// <inheritdoc />
    public override string Describe() => Duration is { } d
        ? string.Create(CultureInfo.InvariantCulture, $"pause for {d}")
        : "pause until promoted";
}

/// <summary>
/// Wait at an approval gate until it is approved; a rejection (or a timeout the gate's escalation does not approve)
/// fails the rollout. The one approval step of every plan: Core runs manual gates; the Strategies package replaces
/// Core's handler to add webhooks, escalation, notifiers and audit events.
/// </summary>
/// <param name="Gate">The gate; its name is used when approving through <see cref="IOrchestrationVm.ApproveAsync"/>.</param>
public sealed record AwaitApprovalStep(ApprovalGate Gate) : RolloutStep
{
    /// <summary>A manual gate named <paramref name="gate"/> that needs one approval and waits indefinitely.</summary>
    /// <param name="gate">The gate's name.</param>
    public AwaitApprovalStep(string gate)
        : this(new ApprovalGate { Name = gate })
    {
    }

    /// <inheritdoc />
    public override string Kind => "await-approval";

    /// <inheritdoc />
    public override string Describe() => Gate.Webhook is { } url
        ? $"wait for webhook gate '{Gate.Name}' ({url.GetLeftPart(UriPartial.Path)}) to answer 2xx"
        : string.Create(CultureInfo.InvariantCulture, $"wait for {Gate.RequiredApprovals} approval{(Gate.RequiredApprovals == 1 ? "" : "s")} of gate '{Gate.Name}'")
          + (Gate.ApproverMustDifferFromRequester ? " (not the requester)" : "")
          + (Gate.Timeout is { } t ? string.Create(CultureInfo.InvariantCulture, $", escalating ({Gate.Escalation}) after {t}") : "");
}
