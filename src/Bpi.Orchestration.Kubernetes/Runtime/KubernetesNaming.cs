using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Kubernetes.Runtime;

/// <summary>Names, labels and annotations of what the Kubernetes runtime creates.</summary>
internal static class KubernetesNaming
{
    public const string ManagedBy = "bpi-orchestration";
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string NameLabel = "app.kubernetes.io/name";
    public const string InstanceLabel = "app.kubernetes.io/instance";
    public const string VersionLabel = "app.kubernetes.io/version";
    public const string PartOfLabel = "app.kubernetes.io/part-of";
    public const string ComponentLabel = "app.kubernetes.io/component";

    /// <summary>The kind of object a Service is: <c>revision</c> (one revision's pods) or <c>stable</c> (all revisions of a component).</summary>
    public const string ServiceRoleLabel = WorkloadLabels.Prefix + "service-role";

    /// <summary>The DockLock defaults a revision relaxes (comma-separated keys), or <c>none</c>.</summary>
    public const string RelaxationsAnnotation = WorkloadLabels.Prefix + "docklock-relaxed";

    /// <summary>A revision's autoscaling (<see cref="AutoscalingSpec"/>) as <c>{min}:{max}:{cpu%}</c>, on its Deployment; absent without autoscaling.</summary>
    public const string AutoscalingAnnotation = WorkloadLabels.Prefix + "autoscaling";

    /// <summary>The reason of each DockLock relaxation of a revision, as a JSON object (setting → reason), on its Deployment and pods.</summary>
    public const string RelaxationReasonsAnnotation = WorkloadLabels.Prefix + "docklock-reasons";

    /// <summary>The pod-security namespace label and the level we set on namespaces we create.</summary>
    public const string PodSecurityEnforceLabel = "pod-security.kubernetes.io/enforce";

    /// <summary>The selector of everything the runtime manages.</summary>
    public const string ManagedSelector = ManagedByLabel + "=" + ManagedBy;

    /// <summary>The object name of a component revision's Deployment, Secret and Service: <c>{deployment}-{component}-r{revision}</c>.</summary>
    public static string RevisionName(string deploymentId, string componentId, int revision)
        => Dns1035(string.Create(CultureInfo.InvariantCulture, $"{deploymentId}-{componentId}-r{revision}"));

    /// <summary>The object name of a component's stable Service and HTTPRoute: <c>{deployment}-{component}</c>.</summary>
    public static string ComponentName(string deploymentId, string componentId) => Dns1035(deploymentId + "-" + componentId);

    /// <summary>The PersistentVolumeClaim of a component's named volume.</summary>
    public static string VolumeClaimName(string deploymentId, string componentId, string volume) => Dns1035($"{deploymentId}-{componentId}-{volume}".Replace('_', '-').Replace('.', '-'));

    /// <summary>A label value for any text: the text when it is a valid value, else a valid prefix and a hash (the full text goes into an annotation).</summary>
    public static string LabelValue(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length <= 63 && IsLabelValue(text))
        {
            return text;
        }

        var clean = new StringBuilder();
        foreach (var c in text)
        {
            clean.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-');
        }

        var prefix = clean.ToString().Trim('-', '_', '.');
        prefix = prefix.Length > 50 ? prefix[..50].TrimEnd('-', '_', '.') : prefix;
        return (prefix.Length == 0 ? "x" : prefix) + "-" + Hash(text);
    }

    /// <summary>The labels identifying a revision's objects (and selecting its pods).</summary>
    public static Dictionary<string, string> SelectorLabels(string deploymentId, string componentId, int revision) => new(StringComparer.Ordinal)
    {
        [WorkloadLabels.Deployment] = LabelValue(deploymentId),
        [WorkloadLabels.Component] = LabelValue(componentId),
        [WorkloadLabels.Revision] = revision.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Every label of a revision's objects: the standard <c>app.kubernetes.io/*</c> ones, ours, and the user's (never overriding ours).</summary>
    public static Dictionary<string, string> Labels(WorkloadRevision revision)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in revision.Labels)
        {
            if (!key.StartsWith(WorkloadLabels.Prefix, StringComparison.Ordinal) && !key.StartsWith("app.kubernetes.io/", StringComparison.Ordinal) && value.Length <= 63 && IsLabelValue(value))
            {
                labels[key] = value;
            }
        }

        foreach (var (key, value) in revision.GetOwnershipLabels())
        {
            labels[key] = LabelValue(value);
        }

        labels[NameLabel] = LabelValue(revision.Component.Id);
        labels[InstanceLabel] = LabelValue(revision.DeploymentId);
        labels[VersionLabel] = LabelValue("r" + revision.Revision.ToString(CultureInfo.InvariantCulture));
        labels[PartOfLabel] = LabelValue(revision.AppId);
        labels[ComponentLabel] = LabelValue(revision.Component.Id);
        labels[ManagedByLabel] = ManagedBy;
        return labels;
    }

    /// <summary>The ownership labels in full (label values may be shortened): how a reader gets the exact ids back.</summary>
    public static Dictionary<string, string> Annotations(WorkloadRevision revision) => revision.GetOwnershipLabels();

    /// <summary>A label selector for a deployment, optionally one component and one revision.</summary>
    public static string Selector(string deploymentId, string? componentId = null, int? revision = null)
    {
        var selector = ManagedSelector + "," + WorkloadLabels.Deployment + "=" + LabelValue(deploymentId);
        if (componentId is not null)
        {
            selector += "," + WorkloadLabels.Component + "=" + LabelValue(componentId);
        }

        if (revision is { } r)
        {
            selector += "," + WorkloadLabels.Revision + "=" + r.ToString(CultureInfo.InvariantCulture);
        }

        return selector;
    }

    /// <summary>A label's or annotation's value, or <see langword="null"/>.</summary>
    public static string? Value(IDictionary<string, string>? map, string key) => map is not null && map.TryGetValue(key, out var value) ? value : null;

    private static bool IsLabelValue(string text)
    {
        if (text.Length == 0)
        {
            return true;
        }

        if (!char.IsAsciiLetterOrDigit(text[0]) || !char.IsAsciiLetterOrDigit(text[^1]))
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A DNS-1035 label (a Service name): lowercase, starts with a letter, at most 63 characters (long names end with a hash).</summary>
    private static string Dns1035(string text)
    {
        var clean = new StringBuilder();
        foreach (var c in text.ToLowerInvariant())
        {
            clean.Append(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) ? c : '-');
        }

        var name = clean.ToString().Trim('-');
        if (name.Length == 0 || !char.IsAsciiLetterLower(name[0]))
        {
            name = "b-" + name;
        }

        return name.Length <= 63 && name == text ? name : name.Length <= 63 && text.Length <= 63 ? name : name[..Math.Min(name.Length, 54)].TrimEnd('-') + "-" + Hash(text);
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..8];
}
