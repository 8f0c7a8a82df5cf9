using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>Names and labels of what the Docker runtime creates.</summary>
internal static class DockerNaming
{
    /// <summary>A label's value, or <see langword="null"/> when the object has no labels or not that one.</summary>
    public static string? Label(this IDictionary<string, string>? labels, string key) =>
        labels is not null && labels.TryGetValue(key, out var value) ? value : null;

    /// <summary>The ports of a container, <c>name=port/protocol</c> joined by ';', so endpoints can be named without the spec.</summary>
    public const string PortsLabel = WorkloadLabels.Prefix + "ports";

    /// <summary>The DockLock defaults a container relaxes (comma-separated setting keys), or <c>none</c>.</summary>
    public const string RelaxationsLabel = WorkloadLabels.Prefix + "docklock-relaxed";

    public static string NetworkName(string deploymentId) => "bpi-" + Sanitize(deploymentId);

    public static string VolumeName(string deploymentId, string componentId, string volume) =>
        "bpi-" + Sanitize(deploymentId) + "-" + Sanitize(componentId) + "-" + Sanitize(volume);

    /// <summary>A fresh container name: <c>bpi-{deployment}-{component}-r{revision}-{8 hex}</c>.</summary>
    public static string NewContainerName(WorkloadRevision revision) =>
        string.Create(CultureInfo.InvariantCulture, $"bpi-{Sanitize(revision.DeploymentId)}-{Sanitize(revision.Component.Id)}-r{revision.Revision}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");

    public static string PortKey(PortSpec port) =>
        string.Create(CultureInfo.InvariantCulture, $"{port.ContainerPort}/{(port.Protocol == PortProtocol.Udp ? "udp" : "tcp")}");

    public static string PortsLabelValue(IReadOnlyList<PortSpec> ports) => string.Join(';', ports.Select(p => p.Name + "=" + PortKey(p)));

    /// <summary>Parses <see cref="PortsLabel"/> into (name, port key) pairs.</summary>
    public static IReadOnlyList<(string Name, string Key)> ParsePortsLabel(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return [];
        }

        var ports = new List<(string, string)>();
        foreach (var part in value.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                ports.Add((part[..eq], part[(eq + 1)..]));
            }
        }

        return ports;
    }

    /// <summary>Labels of a revision's containers: ownership, instance, ports, relaxations, and the user's labels (never overriding the SDK's).</summary>
    public static Dictionary<string, string> ContainerLabels(WorkloadRevision revision, string instanceId, IReadOnlyList<string> relaxedSettings)
    {
        var labels = revision.GetOwnershipLabels();
        foreach (var (key, value) in revision.Labels)
        {
            if (!key.StartsWith(WorkloadLabels.Prefix, StringComparison.Ordinal))
            {
                labels.TryAdd(key, value);
            }
        }

        labels[WorkloadLabels.Instance] = instanceId;
        labels[PortsLabel] = PortsLabelValue(revision.Component.Ports);
        labels[RelaxationsLabel] = relaxedSettings.Count == 0 ? "none" : string.Join(',', relaxedSettings);
        return labels;
    }

    /// <summary>Labels of a deployment's network and volumes: the revision's ownership labels without component and revision.</summary>
    public static Dictionary<string, string> DeploymentLabels(WorkloadRevision revision)
    {
        var labels = revision.GetOwnershipLabels();
        labels.Remove(WorkloadLabels.Component);
        labels.Remove(WorkloadLabels.Revision);
        return labels;
    }

    /// <summary>Keeps the characters engine names allow ([a-zA-Z0-9_.-]); anything else becomes '-'.</summary>
    public static string Sanitize(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' ? c : '-');
        }

        return builder.Length == 0 ? "x" : builder.ToString();
    }
}
