using Bpi.Orchestration.Hardening;

namespace Bpi.Orchestration.Runtime;

/// <summary>
/// The manager of <see cref="DeploymentType.DockLockContainer"/>, the default type, built into Core. On a runtime that
/// hardens containers (Docker, Kubernetes) each DockLock component's settings are resolved at admission and a spec the
/// runtime would refuse at container start is refused first, with every problem. On any other runtime (local processes,
/// in-memory) there is no container to harden: the spec is admitted, as it always was, and a note saying so is recorded
/// with the deployment's audit entry, so the choice is visible rather than silently empty.
/// </summary>
internal sealed class DockLockComponentManager(string? runtimeName, DockLockDefaults? defaults) : IComponentManager
{
    public DeploymentType Type => DeploymentType.DockLockContainer;

    /// <summary>Whether the runtime of that name applies DockLock hardening to its containers.</summary>
    public static bool Hardens(string? runtimeName) => runtimeName is WorkloadInspection.DockerEngine or WorkloadInspection.KubernetesEngine;

    public IReadOnlyList<string> Check(DeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!Hardens(runtimeName))
        {
            return [];
        }

        List<string>? problems = null;
        var components = spec.Components ?? [];
        for (var i = 0; i < components.Count; i++)
        {
            if (components[i] is not { } component || spec.TypeOf(component) != DeploymentType.DockLockContainer || component.RuntimeSettings is null)
            {
                continue;
            }

            foreach (var error in DockLockEffectiveSettings.Resolve(component, defaults).Errors)
            {
                (problems ??= []).Add($"components[{i}] ({component.Id}): {error}");
            }
        }

        return problems ?? (IReadOnlyList<string>)[];
    }

    public IReadOnlyList<string> Notes(DeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (Hardens(runtimeName))
        {
            return [];
        }

        var ids = (spec.Components ?? []).Where(c => c is not null && spec.TypeOf(c) == DeploymentType.DockLockContainer).Select(c => c.Id).ToList();
        return ids.Count == 0
            ? []
            : [$"type DockLockContainer: {(runtimeName is null ? "no workload runtime is registered" : $"the '{runtimeName}' runtime runs no containers")}, so no DockLock hardening applies to {string.Join(", ", ids)}; deploy on Docker (.AddDocker()) or Kubernetes (.AddKubernetes()) for hardened containers."];
    }
}
