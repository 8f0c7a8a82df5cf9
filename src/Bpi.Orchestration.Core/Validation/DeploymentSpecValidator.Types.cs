namespace Bpi.Orchestration;

/// <summary>The checks of the per-component types (<see cref="ComponentSpec.Type"/>) and of the combinations that cannot work.</summary>
internal static partial class DeploymentSpecValidator
{
    /// <summary>The types one component of a <see cref="DeploymentType.HybridInfrastructure"/> deployment may have, as advice.</summary>
    private const string HybridComponentTypes = "DockLockContainer, HttpCage or CueNginx";

    private static void CheckComponentTypes(List<string> errors, DeploymentSpec spec)
    {
        var components = spec.Components ?? [];
        var hybrid = spec.Type == DeploymentType.HybridInfrastructure;
        var named = 0;
        for (var i = 0; i < components.Count; i++)
        {
            if (components[i]?.Type is not { } type)
            {
                continue;
            }

            named++;
            if (!EnumChecks.IsDefined(type))
            {
                errors.Add($"components[{i}].type: '{type}' is not a deployment type; use one of {string.Join(", ", Enum.GetNames<DeploymentType>())}.");
            }
            else if (type == DeploymentType.HybridInfrastructure)
            {
                errors.Add($"components[{i}].type: HybridInfrastructure mixes the types of several components and is not a type of one; give the component the type that serves it ({HybridComponentTypes}).");
            }
            else if (!hybrid && type != spec.Type)
            {
                errors.Add($"components[{i}].type: {type} differs from the deployment's type {spec.Type}; set the deployment's type to HybridInfrastructure to mix types, or remove the component's type.");
            }
            else if (hybrid && type == DeploymentType.EncCluster)
            {
                errors.Add($"components[{i}].type: EncCluster cannot be one component of a HybridInfrastructure deployment: the cluster's settings (encCluster) and certificates belong to a whole deployment; deploy the cluster as its own deployment of type EncCluster.");
            }
        }

        if (!hybrid || components.Count == 0)
        {
            return;
        }

        if (named == 0)
        {
            errors.Add($"type: HybridInfrastructure combines the types of its components and no component names one; set each component's type ({HybridComponentTypes}), or give the deployment a single type.");
            return;
        }

        for (var i = 0; i < components.Count; i++)
        {
            if (components[i] is { Type: null })
            {
                errors.Add($"components[{i}].type: is required in a HybridInfrastructure deployment (the type selects the manager that serves the component); set {HybridComponentTypes}.");
            }
        }
    }
}
