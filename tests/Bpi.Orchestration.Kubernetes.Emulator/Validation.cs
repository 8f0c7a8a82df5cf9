using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Bpi.Orchestration.Kubernetes.Emulator;

/// <summary>The API server's validation of what the emulator serves, reduced to the rules a client most often breaks (422 Invalid).</summary>
internal static partial class Validation
{
    public static void Check(EmulatedKind kind, JsonObject obj)
    {
        var causes = new List<(string, string)>();
        var name = (string?)obj["metadata"]?["name"] ?? "";
        if (name.Length == 0)
        {
            causes.Add(("metadata.name", "Required value: name or generateName is required"));
        }
        else if (kind.LabelName ? !(name.Length <= 63 && Dns1123Label().IsMatch(name)) : !(name.Length <= 253 && Dns1123Subdomain().IsMatch(name)))
        {
            causes.Add(("metadata.name", $"Invalid value: \"{name}\": a lowercase RFC 1123 {(kind.LabelName ? "label" : "subdomain")} must consist of lower case alphanumeric characters, '-' or '.'"));
        }

        CheckLabels("metadata.labels", obj["metadata"]?["labels"], causes);
        switch (kind.Resource)
        {
            case "deployments":
                CheckDeployment(obj, causes);
                break;
            case "services":
                foreach (var (port, index) in (obj["spec"]?["ports"] as JsonArray ?? []).Select((p, i) => (p, i)))
                {
                    if ((int?)port?["port"] is not (>= 1 and <= 65535))
                    {
                        causes.Add(($"spec.ports[{index}].port", "Invalid value: must be between 1 and 65535, inclusive"));
                    }
                }

                break;
            case "secrets":
                foreach (var (key, value) in obj["data"] as JsonObject ?? [])
                {
                    if (value is null || !IsBase64((string)value!))
                    {
                        causes.Add(($"data[{key}]", "Invalid value: illegal base64 data"));
                    }
                }

                break;
            case "horizontalpodautoscalers":
                CheckAutoscaler(obj, causes);
                break;
            case "httproutes":
                foreach (var (rule, r) in (obj["spec"]?["rules"] as JsonArray ?? []).Select((x, i) => (x, i)))
                {
                    foreach (var (backend, b) in (rule?["backendRefs"] as JsonArray ?? []).Select((x, i) => (x, i)))
                    {
                        if ((int?)backend?["weight"] is < 0 or > 1_000_000)
                        {
                            causes.Add(($"spec.rules[{r}].backendRefs[{b}].weight", "Invalid value: must be between 0 and 1000000"));
                        }
                    }
                }

                break;
        }

        if (causes.Count > 0)
        {
            throw ApiError.Invalid(kind, name, causes);
        }
    }

    private static void CheckDeployment(JsonObject obj, List<(string, string)> causes)
    {
        var spec = obj["spec"];
        if ((int?)spec?["replicas"] is < 0)
        {
            causes.Add(("spec.replicas", "Invalid value: must be greater than or equal to 0"));
        }

        var selector = spec?["selector"]?["matchLabels"] as JsonObject;
        var labels = spec?["template"]?["metadata"]?["labels"] as JsonObject;
        if (selector is null || selector.Count == 0)
        {
            causes.Add(("spec.selector", "Required value"));
        }
        else if (selector.Any(s => (string?)labels?[s.Key] != (string?)s.Value))
        {
            causes.Add(("spec.template.metadata.labels", "Invalid value: `selector` does not match template `labels`"));
        }

        CheckLabels("spec.template.metadata.labels", labels, causes);
        var containers = spec?["template"]?["spec"]?["containers"] as JsonArray;
        if (containers is null || containers.Count == 0)
        {
            causes.Add(("spec.template.spec.containers", "Required value"));
        }

        foreach (var (container, index) in (containers ?? []).Select((c, i) => (c, i)))
        {
            if ((string?)container?["name"] is not { Length: > 0 and <= 63 } containerName || !Dns1123Label().IsMatch(containerName))
            {
                causes.Add(($"spec.template.spec.containers[{index}].name", "Invalid value: must be a DNS-1123 label"));
            }

            if (string.IsNullOrWhiteSpace((string?)container?["image"]))
            {
                causes.Add(($"spec.template.spec.containers[{index}].image", "Required value"));
            }
        }
    }

    private static void CheckAutoscaler(JsonObject obj, List<(string, string)> causes)
    {
        var spec = obj["spec"];
        var target = spec?["scaleTargetRef"];
        if (string.IsNullOrEmpty((string?)target?["kind"]))
        {
            causes.Add(("spec.scaleTargetRef.kind", "Required value"));
        }

        if (string.IsNullOrEmpty((string?)target?["name"]))
        {
            causes.Add(("spec.scaleTargetRef.name", "Required value"));
        }

        var max = (int?)spec?["maxReplicas"];
        var min = (int?)spec?["minReplicas"] ?? 1;
        if (max is not >= 1)
        {
            causes.Add(("spec.maxReplicas", "Invalid value: must be greater than or equal to 1"));
        }

        if (min < 1)
        {
            causes.Add(("spec.minReplicas", "Invalid value: must be greater than or equal to 1"));
        }
        else if (max is { } m && min > m)
        {
            causes.Add(("spec.minReplicas", "Invalid value: must be less than or equal to maxReplicas"));
        }

        foreach (var (metric, index) in (spec?["metrics"] as JsonArray ?? []).Select((x, i) => (x, i)))
        {
            if ((string?)metric?["type"] == "Resource" && (string?)metric?["resource"]?["target"]?["type"] == "Utilization" && (int?)metric?["resource"]?["target"]?["averageUtilization"] is not >= 1)
            {
                causes.Add(($"spec.metrics[{index}].resource.target.averageUtilization", "Invalid value: must be greater than 0"));
            }

            // As the API server (autoscaling validation): an External metric names its metric and gives the quantity its target type needs.
            if ((string?)metric?["type"] == "External")
            {
                var external = metric?["external"];
                if (string.IsNullOrEmpty((string?)external?["metric"]?["name"]))
                {
                    causes.Add(($"spec.metrics[{index}].external.metric.name", "Required value: must specify a metric name"));
                }

                var targetType = (string?)external?["target"]?["type"];
                var field = targetType switch { "Value" => "value", "AverageValue" => "averageValue", _ => null };
                if (field is null)
                {
                    causes.Add(($"spec.metrics[{index}].external.target.type", "Unsupported value: must be Value or AverageValue"));
                }
                else if (external?["target"]?[field] is null)
                {
                    causes.Add(($"spec.metrics[{index}].external.target.{field}", "Required value: must set either a target value or averageValue"));
                }
            }
        }

        foreach (var direction in new[] { "scaleUp", "scaleDown" })
        {
            var rules = spec?["behavior"]?[direction];
            if (rules is null)
            {
                continue;
            }

            if ((int?)rules["stabilizationWindowSeconds"] is < 0 or > 3600)
            {
                causes.Add(($"spec.behavior.{direction}.stabilizationWindowSeconds", "Invalid value: must be less than or equal to 3600"));
            }

            if ((string?)rules["selectPolicy"] is { } select && select is not ("Max" or "Min" or "Disabled"))
            {
                causes.Add(($"spec.behavior.{direction}.selectPolicy", "Unsupported value: supported values: \"Disabled\", \"Max\", \"Min\""));
            }

            foreach (var (policy, p) in (rules["policies"] as JsonArray ?? []).Select((x, i) => (x, i)))
            {
                if ((string?)policy?["type"] is not ("Pods" or "Percent"))
                {
                    causes.Add(($"spec.behavior.{direction}.policies[{p}].type", "Unsupported value: supported values: \"Percent\", \"Pods\""));
                }

                if ((int?)policy?["value"] is not > 0)
                {
                    causes.Add(($"spec.behavior.{direction}.policies[{p}].value", "Invalid value: must be greater than zero"));
                }

                if ((int?)policy?["periodSeconds"] is not (> 0 and <= 1800))
                {
                    causes.Add(($"spec.behavior.{direction}.policies[{p}].periodSeconds", "Invalid value: must be greater than zero and less than or equal to 1800"));
                }
            }
        }
    }

    private static void CheckLabels(string field, JsonNode? labels, List<(string, string)> causes)
    {
        foreach (var (key, value) in labels as JsonObject ?? [])
        {
            var keyName = key.Contains('/', StringComparison.Ordinal) ? key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..] : key;
            if (keyName.Length is 0 or > 63 || !LabelValue().IsMatch(keyName))
            {
                causes.Add(($"{field}", $"Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.'"));
            }

            var text = (string?)value ?? "";
            if (text.Length > 63 || (text.Length > 0 && !LabelValue().IsMatch(text)))
            {
                causes.Add(($"{field}", $"Invalid value: \"{text}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
            }
        }
    }

    private static bool IsBase64(string text)
    {
        Span<byte> buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out _);
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();
}
