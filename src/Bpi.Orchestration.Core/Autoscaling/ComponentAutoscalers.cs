namespace Bpi.Orchestration.Autoscaling;

/// <summary>
/// The autoscaler's memory of one deployment, per component: the HPA history, the revision and replica count it last saw
/// (to carry the count to a new revision), and its last decision (for status). Kept on the deployment's entry, so it goes
/// with the deployment. Passes run one at a time; status reads come from any thread, hence the lock around decisions.
/// </summary>
internal sealed class ComponentAutoscalers
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ComponentAutoscaler> _components = new(StringComparer.Ordinal);

    /// <summary>The state of one component, created on first use.</summary>
    public ComponentAutoscaler For(string componentId)
    {
        lock (_gate)
        {
            if (!_components.TryGetValue(componentId, out var state))
            {
                _components[componentId] = state = new ComponentAutoscaler();
            }

            return state;
        }
    }

    /// <summary>Forgets the components that no longer autoscale.</summary>
    public void Retain(IReadOnlyCollection<string> componentIds)
    {
        lock (_gate)
        {
            foreach (var id in _components.Keys.Where(k => !componentIds.Contains(k)).ToList())
            {
                _components.Remove(id);
            }
        }
    }

    /// <summary>Records a decision for status.</summary>
    public void Decided(ComponentAutoscaler state, AutoscalingDecision decision)
    {
        lock (_gate)
        {
            state.LastDecision = decision;
        }
    }

    /// <summary>The last decision of every component, ordered by component.</summary>
    public IReadOnlyList<AutoscalingDecision> Decisions()
    {
        lock (_gate)
        {
            return [.. _components.Values.Select(c => c.LastDecision).OfType<AutoscalingDecision>().OrderBy(d => d.ComponentId, StringComparer.Ordinal)];
        }
    }
}

/// <summary>One component's autoscaler state.</summary>
internal sealed class ComponentAutoscaler
{
    public AutoscalerHistory History { get; } = new();

    /// <summary>The serving revision the autoscaler last looked at; 0 before the first look.</summary>
    public int Revision { get; set; }

    /// <summary>The replica count the serving revision had (or was scaled to) at the last look: what a new revision is carried to.</summary>
    public int? Replicas { get; set; }

    /// <summary>The spec the history was built for: a changed spec (new targets, new windows) starts afresh.</summary>
    public AutoscalingSpec? Spec { get; set; }

    /// <summary>Whether the history was seeded with the count found (see the loop); reset with the history.</summary>
    public bool Seeded { get; set; }

    public AutoscalingDecision? LastDecision { get; set; }

    /// <summary>The decision of the pass under way, shown (as <see cref="LastDecision"/>) when the pass ends.</summary>
    public AutoscalingDecision? Pending { get; set; }

    /// <summary>The memory last stored with the deployment (<see cref="State.DeploymentRecord.Autoscalers"/>); <see langword="null"/> before the first store.</summary>
    public State.AutoscalerMemory? Stored { get; set; }
}
