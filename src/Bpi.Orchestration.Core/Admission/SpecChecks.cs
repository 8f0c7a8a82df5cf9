using System.Globalization;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Recording;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Admission;

/// <summary>
/// The checks a spec passes before it is admitted: the spec validates as a whole and names a registered strategy, and the
/// security gate (when one is registered) passes it. A refusal is audited and thrown with every problem listed.
/// </summary>
/// <remarks>
/// <para>
/// Every type the spec uses (its own, or with <see cref="DeploymentType.HybridInfrastructure"/> each component's) needs a
/// registered <see cref="IComponentManager"/>, which checks the spec; Core's own <see cref="DockLockComponentManager"/>
/// serves the default type unless a package registers another.
/// </para>
/// <para>
/// <c>runtimeWithoutUtilization</c> names the runtime when it can act on no CPU or memory target
/// (<see cref="Autoscaling.AutoscalingChecks.RuntimeWithoutUtilization"/>): specs with such targets are then refused.
/// </para>
/// </remarks>
internal sealed class SpecChecks(IReadOnlyDictionary<string, IRolloutStrategy> strategies, ISecurityGate? securityGate, DeploymentRecorder recorder, IEnumerable<IComponentManager>? componentManagers = null, IReadOnlyList<Autoscaling.IAutoscalingMetricSource>? metricSources = null, string? runtimeWithoutUtilization = null)
{
    private readonly IReadOnlyList<Autoscaling.IAutoscalingMetricSource> _metricSources = metricSources ?? [];

    private readonly Dictionary<DeploymentType, IComponentManager> _managers = (componentManagers ?? []).GroupBy(m => m.Type).ToDictionary(g => g.Key, g => g.Last());

    // Details that never vary are made once (audit details are read-only).
    public static readonly AuditData ForcedData = new([new("force", "true")]);
    public static readonly AuditData GracefulData = new([new("force", "false")]);

    public List<string> CollectErrors(DeploymentSpec spec)
    {
        var problems = spec.Validate();
        var errors = problems as List<string> ?? [.. problems]; // the validator's own fresh list: no copy
        if (spec.Strategy is not null && !strategies.ContainsKey(spec.Strategy.Name))
        {
            errors.Add($"strategy: no strategy named '{spec.Strategy.Name}' is registered (registered: {string.Join(", ", strategies.Keys.Order(StringComparer.Ordinal))}); add the package that provides it, for example .AddStrategies().");
        }

        CheckAutoscaling(errors, spec);
        if (spec.Type != DeploymentType.HybridInfrastructure)
        {
            if (EnumChecks.IsDefined(spec.Type))
            {
                CheckType(errors, spec, spec.Type, "type");
            }
        }
        else
        {
            foreach (var (type, fields) in HybridTypes(spec))
            {
                CheckType(errors, spec, type, fields);
            }
        }

        return errors;
    }

    /// <summary>What the managers of the spec's types admit but do not enforce (recorded with the accepted deployment's audit entry).</summary>
    public List<string> Notes(DeploymentSpec spec)
    {
        var notes = new List<string>();
        foreach (var type in spec.Type == DeploymentType.HybridInfrastructure ? HybridTypes(spec).Select(t => t.Type) : [spec.Type])
        {
            if (_managers.TryGetValue(type, out var manager))
            {
                notes.AddRange(manager.Notes(spec));
            }
        }

        return notes;
    }

    /// <summary>The general rule: a type is served by its manager, which lists what it cannot serve; a type without one is refused with what to add.</summary>
    private void CheckType(List<string> errors, DeploymentSpec spec, DeploymentType type, string fields)
    {
        if (_managers.TryGetValue(type, out var manager))
        {
            errors.AddRange(manager.Check(spec));
        }
        else
        {
            errors.Add($"{fields}: {type} needs its component manager and none is registered, so {MissingManagerAdvice(type)}");
        }
    }

    private static string MissingManagerAdvice(DeploymentType type) => type switch
    {
        DeploymentType.EncCluster => "the cluster would run unencrypted; add .AddEncCluster() from Bpi.Orchestration.Components (after the runtime), or choose another type.",
        DeploymentType.HttpCage => "no HTTP protection would stand in front of the service; add .AddCueNginx(o => o.DefaultService.HttpCage = new HttpCageOptions()) from Bpi.Orchestration.Components, or choose another type.",
        DeploymentType.CueNginx => "its traffic would not go through nginx; add .AddCueNginx() from Bpi.Orchestration.Components, or choose another type.",
        _ => "nothing would serve it; register the manager of that type, or choose another type.",
    };

    /// <summary>
    /// The types a hybrid spec's components name, each with the fields that name it (<c>components[0].type, components[2].type</c>);
    /// types the validator refuses on a component (undefined, HybridInfrastructure, EncCluster) are left to its message.
    /// </summary>
    private static IEnumerable<(DeploymentType Type, string Fields)> HybridTypes(DeploymentSpec spec)
    {
        var components = spec.Components ?? [];
        return Enumerable.Range(0, components.Count)
            .Where(i => components[i]?.Type is { } t && EnumChecks.IsDefined(t) && t is not (DeploymentType.HybridInfrastructure or DeploymentType.EncCluster))
            .GroupBy(i => components[i].Type!.Value)
            .OrderBy(g => g.Key)
            .Select(g => (g.Key, string.Join(", ", g.Select(i => $"components[{i}].type"))));
    }

    /// <summary>
    /// Every custom autoscaling metric needs a registered source that measures its query, and a CPU or memory target a
    /// runtime that reports utilisation or scales itself (<see cref="Autoscaling.AutoscalingChecks.Utilization"/>).
    /// </summary>
    private void CheckAutoscaling(List<string> errors, DeploymentSpec spec)
    {
        for (var i = 0; i < (spec.Components?.Count ?? 0); i++)
        {
            if (spec.Components![i]?.Autoscaling is not { } autoscaling)
            {
                continue;
            }

            if (runtimeWithoutUtilization is not null)
            {
                Autoscaling.AutoscalingChecks.Utilization(errors, string.Create(CultureInfo.InvariantCulture, $"components[{i}] ({spec.Components[i].Id}).autoscaling"), autoscaling, runtimeWithoutUtilization);
            }

            var metrics = autoscaling.Metrics ?? [];
            for (var j = 0; j < metrics.Count; j++)
            {
                if (metrics[j]?.Query is { } query && !_metricSources.Any(s => s.CanMeasure(query)))
                {
                    var none = _metricSources.Count == 0 ? " (none is registered)" : "";
                    errors.Add(string.Create(CultureInfo.InvariantCulture, $"components[{i}] ({spec.Components[i].Id}).autoscaling.metrics[{j}].query: no registered metric source measures a {query.GetType().Name}{none}; register one that does (.AddStrategies() adapts every IMetricProvider, such as Prometheus) or use another query."));
                }
            }
        }
    }

    public ValueTask ValidateAsync(DeploymentSpec spec, OrchestrationActor actor, string action, string target)
    {
        var errors = CollectErrors(spec);
        return errors.Count == 0 ? ValueTask.CompletedTask : RejectAsync(errors, spec, actor, action, target);
    }

    public async ValueTask RejectAsync(List<string> errors, DeploymentSpec spec, OrchestrationActor actor, string action, string target)
    {
        await recorder.AuditAsync(actor.Id, action, target, "rejected", new AuditData([new("errors", string.Join(" | ", errors))])).ConfigureAwait(false);
        throw OrchestrationException.InvalidConfiguration($"Deployment spec '{spec.Name}'", errors);
    }

    /// <summary>Asks the security gate; <paramref name="existing"/> is the deployment an update is for (<see langword="null"/> for a new one: the refusal's event then names the spec).</summary>
    public ValueTask<double?> EvaluateSecurityAsync(DeploymentSpec spec, OrchestrationActor actor, string target, DeploymentRecord? existing, CancellationToken cancellationToken)
        => securityGate is null ? new ValueTask<double?>((double?)null) : EvaluateGateAsync(securityGate, spec, actor, target, existing, cancellationToken);

    private async ValueTask<double?> EvaluateGateAsync(ISecurityGate gate, DeploymentSpec spec, OrchestrationActor actor, string target, DeploymentRecord? existing, CancellationToken cancellationToken)
    {
        var result = await gate.EvaluateAsync(spec, cancellationToken).ConfigureAwait(false);
        if (!result.Passed)
        {
            recorder.Events.Publish(
                target,
                DeploymentEventKind.SecurityGateRefused,
                existing?.State ?? DeploymentState.Pending,
                string.Create(CultureInfo.InvariantCulture, $"the security gate refused '{spec.Name}' (score {result.Score:0.0}): {string.Join(" | ", result.Findings)}"),
                new EventDetails(Revision: existing is null ? null : StepRecorder.RevisionOf(existing)));
            await recorder.AuditAsync(actor.Id, "security.gate", target, "refused", new AuditData([new("score", result.Score.ToString("0.0", CultureInfo.InvariantCulture)), new("findings", string.Join(" | ", result.Findings))])).ConfigureAwait(false);
            throw new OrchestrationException(
                OrchestrationErrorKind.SecurityValidationFailed,
                string.Create(CultureInfo.InvariantCulture, $"The security gate refused '{spec.Name}' (score {result.Score:0.0}); fix these findings and deploy again:")
                + string.Concat(result.Findings.Select(f => Environment.NewLine + "  - " + f)),
                result.Findings);
        }

        return result.Score;
    }

    /// <summary>The audit details of an accepted spec, with the <see cref="Notes"/> of its managers when there are any (described when read).</summary>
    public AuditDetails SpecData(DeploymentSpec spec, int revision) => new SpecAudit(spec, revision, _notesText ??= JoinedNotes);

    private Func<DeploymentSpec, string?>? _notesText;

    private string? JoinedNotes(DeploymentSpec spec)
    {
        var notes = Notes(spec);
        return notes.Count == 0 ? null : string.Join(" | ", notes);
    }
}
