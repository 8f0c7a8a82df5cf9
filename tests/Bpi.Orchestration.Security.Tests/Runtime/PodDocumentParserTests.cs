using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Checks;
using Bpi.Orchestration.Security.Runtime;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Security.Tests.Runtime;

/// <summary>Kubernetes Pod objects read into the same profiles, and judged by the same checks, as <c>docker inspect</c> documents.</summary>
public sealed class PodDocumentParserTests
{
    [Fact]
    public async Task A_pod_the_runtime_did_not_harden_fails_the_same_checks_as_a_docker_container_would()
    {
        const string pod = """
            {
              "metadata": { "name": "legacy-7d9f-0", "labels": { "bpi.orchestration/component": "legacy" } },
              "spec": {
                "hostPID": true, "hostIPC": true,
                "volumes": [ { "name": "etc", "hostPath": { "path": "/etc" } } ],
                "containers": [ {
                  "name": "app", "image": "legacy:1",
                  "securityContext": { "privileged": true, "capabilities": { "add": ["SYS_PTRACE"] }, "seccompProfile": { "type": "Unconfined" } },
                  "volumeMounts": [ { "name": "etc", "mountPath": "/host-etc", "readOnly": true } ],
                  "env": [ { "name": "DB_PASSWORD", "value": "hunter2" } ],
                  "ports": [ { "containerPort": 8080, "hostPort": 8080 } ],
                  "resources": { "limits": { "memory": "1Gi", "cpu": "500m" } }
                } ]
              }
            }
            """;
        var profile = Assert.Single(PodDocumentParser.Parse(pod));
        Assert.Equal(1024L * 1024 * 1024, profile.MemoryLimitBytes);
        Assert.Equal(0.5, profile.CpuLimitCores);

        using var assessor = new SecurityAssessor(Options.Create(new SecurityOptions()));
        var assessment = await assessor.AssessContainersAsync("legacy", "d1", null, [profile]);

        var failed = assessment.Findings.Select(f => f.CheckId).ToHashSet();
        Assert.Superset(new HashSet<string> { "BPI-SEC-001", "BPI-SEC-003", "BPI-SEC-004", "BPI-SEC-006", "BPI-SEC-007", "BPI-SEC-009", "BPI-SEC-010", "BPI-SEC-011", "BPI-SEC-013", "BPI-SEC-014", "BPI-SEC-021" }, failed);
        Assert.DoesNotContain("hunter2", string.Join(" ", assessment.Findings.Select(f => f.Evidence)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("128Mi", 134217728)]
    [InlineData("1G", 1000000000)]
    [InlineData("250m", 0.25)]
    [InlineData("0.5", 0.5)]
    [InlineData("1e3", 1000)]
    public void Kubernetes_quantities_are_read_as_numbers(string text, double expected)
    {
        Assert.True(PodDocumentParser.TryQuantity(text, out var value));
        Assert.Equal((decimal)expected, value);
    }

    [Fact]
    public async Task A_container_setting_overrides_the_pods_and_an_unset_seccomp_profile_is_unconfined()
    {
        const string pod = """
            {
              "metadata": { "name": "p", "annotations": { "bpi.orchestration/component": "web", "bpi.orchestration/docklock-reasons": "{\"docklock.capAdd\":\"binds port 80\"}" } },
              "spec": {
                "securityContext": { "runAsUser": 0, "runAsNonRoot": false },
                "containers": [
                  { "name": "app", "image": "web:1", "securityContext": { "runAsUser": 1000, "runAsGroup": 1000, "capabilities": { "add": ["CAP_NET_ADMIN"] } } },
                  { "name": "sidecar", "image": "proxy:1" }
                ]
              }
            }
            """;
        var profiles = PodDocumentParser.Parse(pod);

        Assert.Equal(["web", "web/sidecar"], profiles.Select(p => p.ComponentId));
        Assert.Equal("1000:1000", profiles[0].User);
        Assert.Equal("0", profiles[1].User);
        Assert.Equal("unconfined", profiles[0].SeccompProfile);
        Assert.Equal(["NET_ADMIN"], profiles[0].AddedCapabilities);
        Assert.False(profiles[0].NoNewPrivileges);
        Assert.Equal("binds port 80", profiles[0].RelaxationReasons!["docklock.capAdd"]);

        using var assessor = new SecurityAssessor(Options.Create(new SecurityOptions()));
        var assessment = await assessor.AssessContainersAsync("web", "d1", null, profiles);
        Assert.Contains("adds NET_ADMIN (docklock.capAdd relaxed: binds port 80)", assessment.Findings.Single(f => f.CheckId == "BPI-SEC-012").Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_that_is_not_a_pod_is_a_configuration_error()
    {
        var error = Assert.Throws<OrchestrationException>(() => PodDocumentParser.Parse("""{ "kind": "Service" }"""));
        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
    }
}
