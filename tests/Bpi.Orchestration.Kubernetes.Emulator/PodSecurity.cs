using System.Text.Json.Nodes;

namespace Bpi.Orchestration.Kubernetes.Emulator;

/// <summary>The Pod Security Standards' <c>restricted</c> checks (the subset a workload's pod spec meets most), as the admission plugin words them.</summary>
internal static class PodSecurity
{
    private static readonly HashSet<string> AllowedVolumes = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

    public static List<string> Restricted(JsonNode spec)
    {
        var violations = new List<string>();
        var pod = spec["securityContext"];
        var containers = (spec["containers"] as JsonArray ?? []).Concat(spec["initContainers"] as JsonArray ?? []).Where(c => c is not null).ToList();
        var names = (Func<JsonNode?, bool> bad) => string.Join(", ", containers.Where(bad).Select(c => $"\"{(string?)c!["name"]}\""));

        if (containers.Any(c => (bool?)c!["securityContext"]?["privileged"] == true))
        {
            violations.Add($"privileged (containers {names(c => (bool?)c!["securityContext"]?["privileged"] == true)} must not set securityContext.privileged=true)");
        }

        if (containers.Any(c => (bool?)c!["securityContext"]?["allowPrivilegeEscalation"] != false))
        {
            violations.Add($"allowPrivilegeEscalation != false (containers {names(c => (bool?)c!["securityContext"]?["allowPrivilegeEscalation"] != false)} must set securityContext.allowPrivilegeEscalation=false)");
        }

        bool DropsAll(JsonNode? c) => (c!["securityContext"]?["capabilities"]?["drop"] as JsonArray ?? []).Any(d => (string?)d == "ALL");
        if (!containers.All(DropsAll))
        {
            violations.Add($"unrestricted capabilities (containers {names(c => !DropsAll(c))} must set securityContext.capabilities.drop=[\"ALL\"])");
        }

        bool AddsOnlyBind(JsonNode? c) => (c!["securityContext"]?["capabilities"]?["add"] as JsonArray ?? []).All(a => (string?)a == "NET_BIND_SERVICE");
        if (!containers.All(AddsOnlyBind))
        {
            violations.Add($"unrestricted capabilities (containers {names(c => !AddsOnlyBind(c))} must not include capabilities other than NET_BIND_SERVICE in securityContext.capabilities.add)");
        }

        bool NonRoot(JsonNode? c) => ((bool?)c!["securityContext"]?["runAsNonRoot"] ?? (bool?)pod?["runAsNonRoot"]) == true;
        if (!containers.All(NonRoot))
        {
            violations.Add($"runAsNonRoot != true (pod or containers {names(c => !NonRoot(c))} must set securityContext.runAsNonRoot=true)");
        }

        if ((long?)pod?["runAsUser"] == 0 || containers.Any(c => (long?)c!["securityContext"]?["runAsUser"] == 0))
        {
            violations.Add("runAsUser=0 (pod and containers must not set runAsUser=0)");
        }

        bool Seccomp(JsonNode? c) => ((string?)c!["securityContext"]?["seccompProfile"]?["type"] ?? (string?)pod?["seccompProfile"]?["type"]) is "RuntimeDefault" or "Localhost";
        if (!containers.All(Seccomp))
        {
            violations.Add($"seccompProfile (pod or containers {names(c => !Seccomp(c))} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")");
        }

        foreach (var volume in spec["volumes"] as JsonArray ?? [])
        {
            var type = (volume as JsonObject)?.Select(p => p.Key).FirstOrDefault(k => k != "name");
            if (type is not null && !AllowedVolumes.Contains(type))
            {
                violations.Add($"restricted volume types (volume \"{(string?)volume!["name"]}\" uses restricted volume type \"{type}\")");
            }
        }

        return violations;
    }
}
