namespace Bpi.Orchestration.Runtime;

/// <summary>One revision of one component of a deployment: what a runtime must run.</summary>
public sealed record WorkloadRevision
{
    /// <summary>The id of the orchestrator that owns the instances (goes into the owner label).</summary>
    public required string OwnerId { get; init; }

    /// <summary>The deployment's id.</summary>
    public required string DeploymentId { get; init; }

    /// <summary>The deployment's name.</summary>
    public required string DeploymentName { get; init; }

    /// <summary>The application id.</summary>
    public required string AppId { get; init; }

    /// <summary>The environment.</summary>
    public required string Environment { get; init; }

    /// <summary>The revision number (1, 2, …) within the deployment.</summary>
    public required int Revision { get; init; }

    /// <summary>The component to run.</summary>
    public required ComponentSpec Component { get; init; }

    /// <summary>The EncCluster settings when the deployment's type is <see cref="DeploymentType.EncCluster"/>; <see langword="null"/> otherwise.</summary>
    public EncClusterSpec? EncCluster { get; init; }

    /// <summary>The user's labels from the spec.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;

    /// <summary>
    /// Where the runtime reports slow work it does for this revision before instances exist (an image pull, say) as
    /// one-line messages; the orchestrator passes the deployment's <see cref="DeploymentEventKind.Progress"/> events.
    /// <see langword="null"/> when nobody listens.
    /// </summary>
    public IProgress<string>? Progress { get; init; }

    /// <summary>The <c>bpi.orchestration/*</c> labels identifying this revision (owner, deployment, component, revision).</summary>
    /// <returns>A new dictionary the caller may extend (for example with the instance label).</returns>
    public Dictionary<string, string> GetOwnershipLabels() => new(StringComparer.Ordinal)
    {
        [WorkloadLabels.Owner] = OwnerId,
        [WorkloadLabels.Deployment] = DeploymentId,
        [WorkloadLabels.DeploymentName] = DeploymentName,
        [WorkloadLabels.App] = AppId,
        [WorkloadLabels.Environment] = Environment,
        [WorkloadLabels.Component] = Component.Id,
        [WorkloadLabels.Revision] = Revision.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>The label keys everything the SDK creates on an engine carries; how it lists, reconciles and cleans up what it owns.</summary>
public static class WorkloadLabels
{
    /// <summary>The prefix of every label the SDK sets.</summary>
    public const string Prefix = "bpi.orchestration/";

    /// <summary>The id of the orchestrator (VM) that owns the object.</summary>
    public const string Owner = Prefix + "owner";

    /// <summary>The deployment id.</summary>
    public const string Deployment = Prefix + "deployment";

    /// <summary>The deployment name.</summary>
    public const string DeploymentName = Prefix + "deployment-name";

    /// <summary>The application id.</summary>
    public const string App = Prefix + "app";

    /// <summary>The environment.</summary>
    public const string Environment = Prefix + "environment";

    /// <summary>The component id.</summary>
    public const string Component = Prefix + "component";

    /// <summary>The revision number.</summary>
    public const string Revision = Prefix + "revision";

    /// <summary>The instance id.</summary>
    public const string Instance = Prefix + "instance";
}
