namespace Bpi.Orchestration.Kubernetes.Emulator;

/// <summary>A kind the emulator serves: where it lives in the API and how its objects are named.</summary>
/// <param name="Resource">The plural resource name in URLs (<c>deployments</c>).</param>
/// <param name="Group">The API group; empty for the core group.</param>
/// <param name="Version">The API version (<c>v1</c>, <c>v2</c>).</param>
/// <param name="Kind">The kind (<c>Deployment</c>).</param>
/// <param name="Namespaced">Whether objects live in a namespace.</param>
/// <param name="LabelName">Whether names must be DNS-1123 labels (63 characters) rather than subdomains.</param>
/// <param name="HasSpec">Whether <c>metadata.generation</c> counts changes of <c>spec</c>.</param>
public sealed record EmulatedKind(string Resource, string Group, string Version, string Kind, bool Namespaced, bool LabelName, bool HasSpec)
{
    /// <summary>Every kind served.</summary>
    public static readonly IReadOnlyList<EmulatedKind> All =
    [
        new("namespaces", "", "v1", "Namespace", Namespaced: false, LabelName: true, HasSpec: false),
        new("pods", "", "v1", "Pod", Namespaced: true, LabelName: false, HasSpec: false),
        new("services", "", "v1", "Service", Namespaced: true, LabelName: true, HasSpec: false),
        new("secrets", "", "v1", "Secret", Namespaced: true, LabelName: false, HasSpec: false),
        new("persistentvolumeclaims", "", "v1", "PersistentVolumeClaim", Namespaced: true, LabelName: false, HasSpec: false),
        new("deployments", "apps", "v1", "Deployment", Namespaced: true, LabelName: false, HasSpec: true),
        new("horizontalpodautoscalers", "autoscaling", "v2", "HorizontalPodAutoscaler", Namespaced: true, LabelName: false, HasSpec: true),
        new("httproutes", "gateway.networking.k8s.io", "v1", "HTTPRoute", Namespaced: true, LabelName: false, HasSpec: true),
    ];

    /// <summary>The <c>apiVersion</c> of the kind's objects.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : Group + "/" + Version;

    /// <summary>The resource as RBAC messages name it (<c>deployments.apps</c>).</summary>
    public string QualifiedResource => Group.Length == 0 ? Resource : Resource + "." + Group;

    /// <summary>Finds a kind by group, version and resource.</summary>
    /// <param name="group">The group.</param>
    /// <param name="version">The version.</param>
    /// <param name="resource">The plural resource.</param>
    /// <returns>The kind, or <see langword="null"/> when the emulator does not serve it.</returns>
    public static EmulatedKind? Find(string group, string version, string resource)
        => All.FirstOrDefault(k => k.Group == group && k.Version == version && k.Resource == resource);

    /// <summary>Finds a kind by its plural resource name.</summary>
    /// <param name="resource">The plural resource.</param>
    /// <returns>The kind.</returns>
    public static EmulatedKind Of(string resource) => All.First(k => k.Resource == resource);
}
